-- Every alert's message in both languages (contract §8), and the severity it
-- fired with: Alertmanager identifies an alert by its labels, so the severity
-- label must not change when the alert escalates (the current severity stays in
-- `severity`).
--
-- Rows written before this version kept only the configured language in
-- `message`. The words cannot be regenerated (the figures they quoted, such as
-- the time in state at that moment, are not stored), so both columns start as
-- that stored message: an old alert shows in its original language on every
-- screen. New rows always carry both.
ALTER TABLE alerts ADD COLUMN message_zh TEXT NOT NULL DEFAULT '';
ALTER TABLE alerts ADD COLUMN message_en TEXT NOT NULL DEFAULT '';
ALTER TABLE alerts ADD COLUMN fired_severity TEXT NOT NULL DEFAULT 'warning'
    CHECK (fired_severity IN ('info', 'warning', 'critical'));
UPDATE alerts SET message_zh = message, message_en = message, fired_severity = severity;
