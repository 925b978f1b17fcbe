"""Real codecarbon runs for test/e2e/codecarbon-real.test.ts.

usage: runs.py OUT_DIR MODE PROJECT [CARBON_LOG]
  append  one run, emissions.csv in append mode (codecarbon's default)
  update  one run flushed twice, then stopped, on_csv_write="update" (rewrites the file)
  logger  one run written to the CSV, to carbon.log through LoggerOutput, and as BoAmps
"""
import hashlib
import logging
import sys
import time

from codecarbon import OfflineEmissionsTracker

out, mode, project = sys.argv[1], sys.argv[2], sys.argv[3]


def burn(seconds):
    end = time.time() + seconds
    h = b"x"
    while time.time() < end:
        h = hashlib.sha256(h).digest()


common = dict(country_iso_code="DEU", output_dir=out, project_name=project, measure_power_secs=1, log_level="error")

if mode == "append":
    with OfflineEmissionsTracker(save_to_file=True, **common):
        burn(1.2)
elif mode == "update":
    t = OfflineEmissionsTracker(save_to_file=True, on_csv_write="update", **common)
    t.start()
    for _ in range(2):
        burn(1.2)
        t.flush()
        # Long enough for the shipper to read this version of the file.
        time.sleep(1.5)
    burn(1.2)
    t.stop()
elif mode == "logger":
    from codecarbon.output_methods.base_output import OutputMethod
    from codecarbon.output_methods.logger import LoggerOutput

    # codecarbon's documented LoggerOutput recipe: a FileHandler, default "%(message)s".
    jl = logging.getLogger("codecarbon_json")
    jl.addHandler(logging.FileHandler(sys.argv[4]))
    jl.setLevel(logging.INFO)
    jl.propagate = False
    with OfflineEmissionsTracker(output_methods=[OutputMethod.CSV, OutputMethod.LOGGER, OutputMethod.BOAMPS],
                                 logging_logger=LoggerOutput(jl, logging.INFO), pue=1.2, wue=1.8, **common):
        burn(1.2)
else:
    sys.exit(f"unknown mode {mode}")
