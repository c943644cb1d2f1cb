-- Runs once, when the postgres-data volume is first initialised: the second database, for Rasa's
-- SQL tracker store (RASA_TRACKER_DB_URL). The first one, `returns`, is POSTGRES_DB.
CREATE DATABASE rasa;
