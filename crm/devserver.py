"""`make run`: the development web server and the scheduler, side by side.

The scheduler runs in a process of its own (as in production), started and stopped with
the web server, so Ctrl-C ends both.
"""

import argparse
import os
import signal
import subprocess
import sys


def child_environment(environ: dict, host: str, port: str) -> dict:
    """The children's environment: links in feeds and mails point at this server by default."""
    return {"BASE_URL": f"http://{host}:{port}", **environ}


def main() -> int:
    """Start `flask crm scheduler` (when available) and `flask run`; stop both together."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", default=os.environ.get("PORT", "5000"))
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args()
    flask = [sys.executable, "-m", "flask", "--app", "wsgi"]
    env = child_environment(dict(os.environ), args.host, str(args.port))
    children = []
    has_scheduler = (
        subprocess.run(
            [*flask, "crm", "scheduler", "--help"], capture_output=True, check=False
        ).returncode
        == 0
    )
    if has_scheduler:
        children.append(subprocess.Popen([*flask, "crm", "scheduler"], env=env))
    web = subprocess.Popen([*flask, "run", "--host", args.host, "--port", str(args.port)], env=env)
    children.append(web)
    try:
        return web.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in children:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()


if __name__ == "__main__":
    sys.exit(main())
