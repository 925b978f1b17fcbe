"""The oracle: every run in the final codecarbon CSV files (emissions.csv and the .bak
files codecarbon renamed), read with Python's csv module. Prints JSON:
{run_id: {"emissions", "pue", "wue", "project", "file", "utc"}}."""
import csv
import glob
import json
import os
import sys
from datetime import timezone
from datetime import datetime
from zoneinfo import ZoneInfo

runs = {}
for path in sorted(glob.glob(os.path.join(sys.argv[1], "emissions.csv*"))):
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            num = lambda k: float(row[k]) if row.get(k) not in (None, "") else None
            # A run with several rows (append-mode flushes) ends at its last one.
            # codecarbon's timestamps are the writer's local time, without a zone.
            utc = datetime.fromisoformat(row["timestamp"]).replace(tzinfo=ZoneInfo(os.environ["TZ"])).astimezone(timezone.utc)
            runs[row["run_id"]] = {"emissions": float(row["emissions"]), "pue": num("pue"), "wue": num("wue"), "project": row["project_name"],
                                   "file": os.path.basename(path), "utc": utc.strftime("%Y-%m-%dT%H:%M:%S.000Z")}
print(json.dumps(runs))
