"""Where the project's shared material lives: `../shared` beside the repository (CI copies it
there), overridable with FREESWITCH_TRANSCRIPTS."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared"
TRANSCRIPTS = Path(os.environ.get("FREESWITCH_TRANSCRIPTS", SHARED / "freeswitch" / "transcripts"))
