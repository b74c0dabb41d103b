package console

// routeSync registers the synchronization page (settings, start now, history, live progress).
func (c *Console) routeSync() {}
