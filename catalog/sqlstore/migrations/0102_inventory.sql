-- 0102_inventory: what clients report about themselves, kept whole, on
-- every engine. computer_info is the JSON of catalog.ComputerInfo (the
-- computerInfo of the last RegisterComputer), hardware the JSON of
-- catalog.HardwareInventory (SystemSpec, ComputerSpec and
-- FeatureScoreMatchingKey of the last driver pass); their JSON tags are
-- their declared persisted form. NULL before the client sent either (and
-- for computers registered before this migration).
ALTER TABLE computer ADD COLUMN computer_info TEXT;
ALTER TABLE computer ADD COLUMN hardware TEXT;
