"""The state machines of bando (transitions): states, triggers, guards. No Flask, no database."""
