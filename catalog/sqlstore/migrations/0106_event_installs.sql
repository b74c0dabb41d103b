-- 0106_event_installs: the install results (events 182 failed, 183
-- installed, 184 installed pending a restart) by the time the server
-- received them, for the installs over time of GET
-- /api/v1/compliance/installs (catalog.InstallHistoryStore): a partial
-- index holds only those events, so counting a month of them reads that
-- month's results and nothing of the millions of other events. Both
-- engines read this file.
CREATE INDEX event_installs ON event (received, event_id) WHERE event_id IN (182, 183, 184);
