"""Quiet mode: chatter on file descriptor 2 lands in the log, the console stream does not."""

import os
import subprocess
import sys

from pipelines import console


def test_fd_level_writes_go_to_the_log_and_console_lines_do_not(tmp_path):
    log = tmp_path / "logs" / "run.log"
    script = (
        "import os, sys\n"
        "from pipelines import console\n"
        f"with console.quiet_stderr({str(log)!r}) as out:\n"
        "    os.write(2, b'from C++\\n')\n"
        "    print('from python', file=sys.stderr)\n"
        "    print('progress line', file=out)\n"
        "print('after', file=sys.stderr)\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    assert done.returncode == 0, done.stderr
    assert done.stderr == "progress line\nafter\n"
    assert log.read_text() == "from C++\nfrom python\n"


def test_no_path_means_no_redirect(capsys):
    with console.quiet_stderr(None) as out:
        print("shown", file=out)
    assert capsys.readouterr().err == "shown\n"


def test_log_path_names_the_pipeline(tmp_path):
    path = console.log_path(str(tmp_path), "forecasting")
    assert path.startswith(str(tmp_path / "logs" / "forecasting-")) and path.endswith(".log")
