"""`callflow test`: scenario tests for flows, run through the real controller and the simulator.

Modules: spec (scenario files: read and checked against their flow), parties (callers and
callees in the simulator's terms), runner (one controller and one simulator for a whole run,
scenarios concurrently), standin (silent stand-ins for missing dictionary clips), compare
(expected against actual, as diffs), coverage (wired outputs taken, per flow), report (text,
JSON, JUnit XML), suite (paths to a report).
"""
