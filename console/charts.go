package console

import "html/template"

// chartFuncs are the template functions that draw charts.
func chartFuncs() template.FuncMap { return template.FuncMap{} }
