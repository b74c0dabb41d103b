package console

// routeComputers registers the computers pages (group tree, list, detail, move between groups).
func (c *Console) routeComputers() {}
