package soap

import (
	"strconv"

	"github.com/beevik/etree"
)

// XMLWriter is where code shared by answers built as trees (Tree) and
// answers written as bytes (*RawResponse) writes elements.
type XMLWriter interface {
	// Start opens a child element, End closes it.
	Start(name string)
	End(name string)
	// Elem and Int write a child element holding text, a number.
	Elem(name, text string)
	Int(name string, v int64)
}

// Tree is an XMLWriter adding elements under El.
type Tree struct{ El *etree.Element }

var (
	_ XMLWriter = (*Tree)(nil)
	_ XMLWriter = (*RawResponse)(nil)
)

// Start adds a child element and moves into it.
func (t *Tree) Start(name string) { t.El = t.El.CreateElement(name) }

// End moves back to the parent element.
func (t *Tree) End(string) { t.El = t.El.Parent() }

// Elem adds a child element holding text.
func (t *Tree) Elem(name, text string) { Elem(t.El, name, text) }

// Int adds a child element holding a number.
func (t *Tree) Int(name string, v int64) { Elem(t.El, name, strconv.FormatInt(v, 10)) }
