"""Pieces of a real deployment for tests: salesbot serve processes, nginx with the shipped site."""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import os
import re
import shutil
import signal
import socket
import subprocess
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path

import aiohttp
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.models import Customer, Role, StageChange, Team, User

SITE = Path(__file__).parents[2] / "deploy" / "nginx" / "salesbot.conf"
START_DEADLINE_S = 60.0
# 25 reps send the test messages: WeCom takes 30 app messages a minute per member, and the
# outbox keeps to that, so 200 answers to one rep would take seven minutes.
REPS = [
    "王磊",
    "李娜",
    "张伟",
    "刘洋",
    "陈晨",
    "杨帆",
    "赵敏",
    "黄蕾",
    "周杰",
    "吴昊",
    "徐静",
    "孙悦",
    "马超",
    "朱琳",
    "胡斌",
    "郭婷",
    "何勇",
    "高翔",
    "林芳",
    "罗军",
    "郑爽",
    "梁宇",
    "宋佳",
    "谢婷",
    "韩冰",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def ensure_nginx() -> str:
    """nginx from Debian's packages, installed if missing (CI runs as root)."""
    found = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/sbin/nginx") if os.access(p, os.X_OK)), None
    )
    if found:
        return found
    if os.geteuid() != 0:
        pytest.fail("nginx is missing and this is not root: apt-get install nginx", pytrace=False)
    env = os.environ | {"DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env, timeout=300)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "nginx"],
        check=True,
        env=env,
        timeout=600,
    )
    return shutil.which("nginx") or "/usr/sbin/nginx"


def self_signed_cert(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and bot.example.com, as in the README's trial."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "bot.example.com")])
    now = datetime.now(dt.UTC)  # noqa: TID251 - a certificate's validity, not business time
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("bot.example.com"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "fullchain.pem", directory / "privkey.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def rules_file(directory: Path) -> Path:
    """The shipped rules with a scan every minute and no quiet hours (warnings go out at once)."""
    text = resources.files("config").joinpath("rules_default.yaml").read_text(encoding="utf-8")
    text, scans = re.subn(r"(?m)^watch_every_minutes: \d+", "watch_every_minutes: 1", text)
    text, quiet = re.subn(
        r"(?m)^quiet_hours: .*$", 'quiet_hours: {start: "00:00", end: "00:00"}', text
    )
    assert (scans, quiet) == (1, 1), "rules_default.yaml changed shape"
    path = directory / "rules.yaml"
    path.write_text(text, encoding="utf-8")
    return path


async def seed_company(sessions: async_sessionmaker[AsyncSession], *, now: datetime) -> list[str]:
    """华东一组 (robot-east): 陈静 managing 25 reps; 启明 stalled in 方案, 宏达 an untouched lead.

    Returns the reps' WeCom userids.
    """
    async with sessions() as db, db.begin():
        team = Team(name="华东一组", wecom_webhook_key="robot-east", created_at=now)
        db.add(team)
        await db.flush()
        manager = User(
            name="陈静", role=Role.MANAGER, team_id=team.id, wecom_userid="chenjing", created_at=now
        )
        db.add(manager)
        await db.flush()
        reps = []
        for index, name in enumerate(REPS):
            rep = User(
                name=name,
                role=Role.REP,
                team_id=team.id,
                manager_id=manager.id,
                wecom_userid=f"rep{index:02d}",
                created_at=now - timedelta(days=90),
            )
            db.add(rep)
            reps.append(rep)
        await db.flush()
        for customer_name, owner, stage, age in (
            ("杭州启明科技有限公司", reps[0], "方案", timedelta(days=40)),
            ("佛山宏达建材", reps[1], "线索", timedelta(days=3)),
        ):
            customer = Customer(
                name=customer_name,
                aliases=[],
                owner_id=owner.id,
                stage=stage,
                stage_entered_at=now - age,
                created_at=now - age,
            )
            db.add(customer)
            await db.flush()
            db.add(
                StageChange(
                    customer_id=customer.id,
                    from_stage=None,
                    to_stage=stage,
                    at=now - age,
                    by_user_id=owner.id,
                )
            )
    return [f"rep{index:02d}" for index in range(len(REPS))]


@dataclass
class Instance:
    """One `salesbot serve` process on a loopback port, logging to a file."""

    name: str
    salesbot: Path
    port: int
    env: dict[str, str]
    directory: Path
    process: asyncio.subprocess.Process | None = None
    logs: list[Path] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        log = self.directory / f"serve-{self.name}-{len(self.logs) + 1}.log"
        self.logs.append(log)
        with log.open("wb") as out:
            self.process = await asyncio.create_subprocess_exec(
                str(self.salesbot),
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                env=self.env | {"SALESBOT_INSTANCE_NAME": f"serve-{self.port}"},
                cwd=self.directory,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        await self._wait_ready()

    async def _wait_ready(self) -> None:
        loop = asyncio.get_running_loop()
        until = loop.time() + START_DEADLINE_S
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as http:
            while True:
                assert self.process is not None
                if self.process.returncode is not None:
                    raise AssertionError(f"{self.name} exited: {self.log_text()[-2000:]}")
                try:
                    async with http.get(f"{self.url}/readyz") as resp:
                        if resp.status == 200:
                            return
                except (aiohttp.ClientError, TimeoutError):
                    pass
                if loop.time() > until:
                    raise AssertionError(f"{self.name} not ready: {self.log_text()[-2000:]}")
                await asyncio.sleep(0.2)

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)

    async def stop(self) -> None:
        if self.process is None or self.process.returncode is not None:
            return
        self.process.terminate()
        try:
            await asyncio.wait_for(self.process.wait(), timeout=15)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()

    def log_text(self) -> str:
        return "".join(p.read_text(errors="replace") for p in self.logs if p.exists())


class Nginx:
    """nginx in the foreground with deploy/nginx/salesbot.conf, moved to loopback ports."""

    def __init__(
        self, binary: str, directory: Path, upstream_ports: list[int], cert: Path, key: Path
    ) -> None:
        self.binary, self.directory = binary, directory / "nginx"
        self.https_port, self.http_port = free_port(), free_port()
        self.access_log = self.directory / "access.log"
        self.directory.mkdir()
        site = self._site(upstream_ports, cert, key)
        (self.directory / "salesbot.conf").write_text(site)
        (self.directory / "nginx.conf").write_text(self._main())
        self.process: asyncio.subprocess.Process | None = None

    @property
    def callback_url(self) -> str:
        return f"https://127.0.0.1:{self.https_port}/wecom/callback"

    def _site(self, ports: list[int], cert: Path, key: Path) -> str:
        site = SITE.read_text()
        upstream = "".join(
            f"    server 127.0.0.1:{p} max_fails=2 fail_timeout=10s;\n" for p in ports
        )
        replacements = [
            (r"(?m)^    server 127\.0\.0\.1:808\d .*\n", ""),
            (r"(?m)^    keepalive 32;", upstream + "    keepalive 32;"),
            (r"(?m)^    listen 80;", f"    listen 127.0.0.1:{self.http_port};"),
            (r"(?m)^    listen 443 ssl;", f"    listen 127.0.0.1:{self.https_port} ssl;"),
            (r"(?m)^    listen \[::\]:\d+( ssl)?;\n", ""),
            (r"/etc/ssl/salesbot/fullchain\.pem", str(cert)),
            (r"/etc/ssl/salesbot/privkey\.pem", str(key)),
            (r"access_log /var/log/nginx/\S+;", f"access_log {self.access_log} upstreams;"),
            (r"error_log /var/log/nginx/\S+", f"error_log {self.directory}/error.log"),
        ]
        for pattern, replacement in replacements:
            site, count = re.subn(pattern, replacement, site)
            assert count >= 1, f"deploy/nginx/salesbot.conf has no {pattern!r} any more"
        return site

    def _main(self) -> str:
        d = self.directory
        user = "user root;\n" if os.geteuid() == 0 else ""
        return (
            f"{user}worker_processes 1;\ndaemon off;\npid {d}/nginx.pid;\n"
            f"error_log {d}/error.log warn;\nevents {{ worker_connections 1024; }}\n"
            "http {\n"
            "    log_format upstreams '$status $request_uri $upstream_addr $upstream_status';\n"
            f"    client_body_temp_path {d}/client_body;\n    proxy_temp_path {d}/proxy;\n"
            f"    fastcgi_temp_path {d}/fastcgi;\n    uwsgi_temp_path {d}/uwsgi;\n"
            f"    scgi_temp_path {d}/scgi;\n    include {d}/salesbot.conf;\n}}\n"
        )

    def _command(self, *extra: str) -> list[str]:
        conf = str(self.directory / "nginx.conf")
        return [self.binary, "-p", str(self.directory), "-e", f"{self.directory}/error.log",
                "-c", conf, *extra]  # fmt: skip

    async def start(self) -> None:
        test = subprocess.run(self._command("-t"), capture_output=True, text=True, timeout=30)
        assert test.returncode == 0, test.stderr
        self.process = await asyncio.create_subprocess_exec(*self._command())
        loop = asyncio.get_running_loop()
        until = loop.time() + 15
        while True:
            try:
                _reader, writer = await asyncio.open_connection("127.0.0.1", self.https_port)
                writer.close()
                return
            except OSError:
                assert self.process.returncode is None, (self.directory / "error.log").read_text()
                assert loop.time() < until, "nginx did not start"
                await asyncio.sleep(0.1)

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGQUIT)  # graceful: finish requests, then exit
            try:
                await asyncio.wait_for(self.process.wait(), timeout=10)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()

    def retried(self) -> int:
        """Requests nginx passed to a second instance ($upstream_addr lists two)."""
        if not self.access_log.exists():
            return 0
        return sum(", " in line for line in self.access_log.read_text().splitlines())


def metric_sum(exposition: str, name: str, labels: dict[str, str]) -> float:
    """The sum of a metric's samples that carry these labels (Prometheus text format)."""
    total = 0.0
    for line in exposition.splitlines():
        found = re.match(rf"^{re.escape(name)}(?:\{{(.*)\}})? (\S+)$", line)
        if found is None:
            continue
        have = dict(re.findall(r'(\w+)="([^"]*)"', found.group(1) or ""))
        if all(have.get(k) == v for k, v in labels.items()):
            total += float(found.group(2))
    return total
