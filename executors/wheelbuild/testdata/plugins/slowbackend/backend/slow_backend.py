"""A PEP 517 backend that starts a child process and then hangs.

Used to check that cancelling a build kills the whole process group.
The pids go to the file named by ADOPIPE_TEST_PIDFILE.
"""

import os
import subprocess
import sys
import time


def _hang():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)"])
    path = os.environ["ADOPIPE_TEST_PIDFILE"]
    with open(path + ".tmp", "w") as f:
        f.write(f"{os.getpid()} {child.pid}\n")
    os.replace(path + ".tmp", path)
    while True:
        time.sleep(1)


def get_requires_for_build_wheel(config_settings=None):
    return []


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    _hang()
