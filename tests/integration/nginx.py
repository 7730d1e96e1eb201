"""nginx.py - Debian's nginx in front of test replicas, on loopback, with nothing outside a temp dir.

    from nginx import Nginx, deploy_conf
    conf = deploy_conf([port_a, port_b])          # deploy/nginx.conf with these replicas
    with Nginx(conf) as ngx:                      # or Nginx(http_conf_text) for any http-context config
        ngx.request("GET", "/api/search?q=...")   # (status, headers, body) through nginx
    ngx.stop()

Nginx(http_conf) writes a main nginx.conf (pid, error log, temp paths, access log, all in its own temp
dir) around the http-context text, rewrites every `listen ...;` to a free loopback port (ngx.port), and
runs `nginx -p DIR -c nginx.conf -e DIR/error.log -g "daemon off;"` as a child: no root paths, no
daemon, stopped with SIGQUIT (graceful) then SIGKILL. available() says whether nginx is installed
(scripts/install-deps.sh --test installs it)."""
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import checks

ROOT = os.environ.get("AULARAG_ROOT", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
DEPLOY_CONF = os.path.join(ROOT, "deploy", "nginx.conf")


def binary():
    for p in ("nginx", "/usr/sbin/nginx"):
        found = shutil.which(p)
        if found:
            return found
    return None


def available():
    return binary() is not None


def free_port():
    """A loopback port that was free a moment ago (bind 0, read, close)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def deploy_conf(ports, path=DEPLOY_CONF):
    """deploy/nginx.conf with its upstream's `server` lines replaced by one per port (same parameters)."""
    text = open(path).read()
    lines = text.split("\n")
    out, done = [], False
    pat = re.compile(r"^(\s*)server\s+127\.0\.0\.1:\d+(\s[^;]*)?;")
    for line in lines:
        m = pat.match(line)
        if not m:
            out.append(line)
            continue
        if not done:
            out += ["%sserver 127.0.0.1:%d%s;" % (m.group(1), p, m.group(2) or "") for p in ports]
            done = True
    if not done:
        raise ValueError("%s: no `server 127.0.0.1:PORT ...;` line in an upstream" % path)
    return "\n".join(out)


class Nginx:
    def __init__(self, http_conf, workers=1, wait=10):
        self.dir = tempfile.mkdtemp(prefix="aularag-nginx-")
        self.port = free_port()
        conf = re.sub(r"(?m)^(\s*)listen\s+[^;]+;", r"\1listen 127.0.0.1:%d;" % self.port, http_conf)
        d = self.dir
        user = "user root;\n" if os.geteuid() == 0 else ""   # workers may read this 0700 dir
        main = (
            "%sworker_processes %d;\npid %s/nginx.pid;\nerror_log %s/error.log warn;\n"
            "events { worker_connections 1024; }\n"
            "http {\n"
            "    access_log %s/access.log;\n"
            "    client_body_temp_path %s/client_body;\n    proxy_temp_path %s/proxy;\n"
            "    fastcgi_temp_path %s/fastcgi;\n    uwsgi_temp_path %s/uwsgi;\n    scgi_temp_path %s/scgi;\n"
            "    default_type application/octet-stream;\n"
            "%s\n}\n" % (user, workers, d, d, d, d, d, d, d, d, conf))
        self.conf_path = os.path.join(d, "nginx.conf")
        with open(self.conf_path, "w") as f:
            f.write(main)
        self.proc = subprocess.Popen([binary(), "-p", d + "/", "-c", self.conf_path, "-e", os.path.join(d, "error.log"),
                                      "-g", "daemon off;"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True)
        t0 = time.time()
        while time.time() - t0 < wait:
            if self.proc.poll() is not None:
                raise RuntimeError("nginx did not start:\n%s\n%s" % (self.proc.stdout.read(), self.error_log()))
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("nginx did not listen on %d:\n%s" % (self.port, self.error_log()))

    def error_log(self):
        try:
            return open(os.path.join(self.dir, "error.log")).read()[-3000:]
        except OSError:
            return ""

    def stop(self, timeout=10):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def request(self, method, path, body=None, headers=None, timeout=30):
        """One request through nginx on a fresh connection: (status, headers with lower-case names, body bytes)."""
        return checks.request(self.port, method, path, body, headers, timeout)
