-- Reverses 014_recovery_drills: the record of past drills goes.
DROP TABLE IF EXISTS recovery_drills;
