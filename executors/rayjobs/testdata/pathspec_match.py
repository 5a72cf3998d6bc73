# Reference for the differential test of ignore.go: reads
# {"specs": [[line, ...], ...], "paths": [path, ...]} on stdin and prints,
# for each spec, the paths Ray's vendored pathspec (0.8.1) matches, or the
# error it raises when compiling the spec. Ray compiles every ignore file
# with PathSpec.from_lines("gitwildmatch", lines) and calls match_file.
import json
import sys
import warnings

from ray._private.thirdparty.pathspec import PathSpec

warnings.simplefilter("ignore")  # "Possible nested set" FutureWarnings
data = json.load(sys.stdin)
out = []
for lines in data["specs"]:
    try:
        spec = PathSpec.from_lines("gitwildmatch", lines)
    except Exception as e:  # noqa: BLE001 - any compile error is an outcome
        out.append({"error": type(e).__name__})
        continue
    out.append({"matches": [p for p in data["paths"] if spec.match_file(p)]})
json.dump(out, sys.stdout)
