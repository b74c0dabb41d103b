package console

// routeAccess registers the tokens and audit log pages (admin only).
func (c *Console) routeAccess() {}
