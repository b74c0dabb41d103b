-- Per-computer event budget (MaxEventsPerDay): count a computer's recent events without reading them all.
CREATE INDEX event_client_received ON event (client_id, received);
