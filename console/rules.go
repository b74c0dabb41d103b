package console

// routeRules registers the rules and rings pages.
func (c *Console) routeRules() {}
