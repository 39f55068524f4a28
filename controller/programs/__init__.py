"""Programs: outbound campaigns — a flow, its contacts, and rules for when and how fast to call.

- `model`: the program's specification (schedule, pacing, retries) read from YAML or JSON;
- `importer`: contacts from CSV or JSON, numbers normalised to E.164, every bad row reported;
- `windows`, `retries`: calling windows in the contact's time zone, retries by outcome;
- `store` (interface), `sqlite` (the embedded implementation), `sql` (every statement);
- `runner`, `manager`: one scheduler greenlet per running program, crash-safe.
"""
