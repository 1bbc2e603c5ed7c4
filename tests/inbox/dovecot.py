"""A real IMAP server for the tests: Debian's dovecot on a loopback port, its own config,
maildir and passwd-file in a temp directory. Skips (with the reason) when dovecot is missing;
CI installs it (`.ci/run`) and fails on skips."""

from __future__ import annotations

import getpass
import grp
import imaplib
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr

from dealpilot.core.settings import Settings
from tests.mail.servers import free_port
from tests.waiting import WaitTimeout, wait_until

USER = "replies@codeteki.au"
PASSWORD = "imap-test-password"


@dataclass
class Mailbox:
    host: str
    port: int
    username: str
    password: str

    def create(self, folder: str) -> None:
        conn = imaplib.IMAP4(self.host, self.port, timeout=10)
        try:
            conn.login(self.username, self.password)
            typ, data = conn.create(folder)
            assert typ == "OK", data
        finally:
            conn.logout()

    def append(self, raw: bytes, folder: str = "INBOX") -> None:
        conn = imaplib.IMAP4(self.host, self.port, timeout=10)
        try:
            conn.login(self.username, self.password)
            typ, data = conn.append(folder, None, None, raw.replace(b"\n", b"\r\n"))
            assert typ == "OK", data
        finally:
            conn.logout()


def dovecot_binary() -> str | None:
    return shutil.which("dovecot") or next(
        (p for p in ("/usr/sbin/dovecot", "/usr/local/sbin/dovecot") if Path(p).exists()), None
    )


def _accounts() -> tuple[str, str, str]:
    """(internal user, login user, mail user). As root, dovecot wants unprivileged users for
    its login processes and mail (Debian's dovecot/dovenull); otherwise everything is us."""
    if os.geteuid() != 0:
        me = getpass.getuser()
        return me, me, me
    names = {p.pw_name for p in pwd.getpwall()}
    internal = "dovecot" if "dovecot" in names else "nobody"
    login = "dovenull" if "dovenull" in names else "nobody"
    return internal, login, internal


def _group(user: str) -> str:
    return grp.getgrgid(pwd.getpwnam(user).pw_gid).gr_name


def _config(root: Path, port: int) -> Path:
    internal, login, mail = _accounts()
    (root / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n")
    (root / "mail").mkdir()
    if os.geteuid() == 0:
        entry = pwd.getpwnam(mail)
        os.chown(root / "mail", entry.pw_uid, entry.pw_gid)
        root.chmod(0o755)
    conf = root / "dovecot.conf"
    conf.write_text(
        f"""
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
mail_location = maildir:{root}/mail/%u
default_internal_user = {internal}
default_internal_group = {_group(internal)}
default_login_user = {login}
mail_uid = {mail}
mail_gid = {_group(mail)}
first_valid_uid = 1
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={mail} gid={_group(mail)} home={root}/mail/%u
}}
"""
    )
    return conf


@contextmanager
def dovecot_server() -> Iterator[tuple[Mailbox | None, str]]:
    """Yields (mailbox, reason); the mailbox is None, with the reason, without dovecot."""
    binary = dovecot_binary()
    if binary is None:
        yield None, "dovecot is not installed (apt-get install -y dovecot-imapd)"
        return
    # Not under pytest's tmp_path: its 0700 parents keep dovecot's unprivileged users out.
    with tempfile.TemporaryDirectory(prefix="dealpilot-dovecot-") as tmp:
        with _running(binary, Path(tmp)) as mailbox:
            yield mailbox, ""


@contextmanager
def _running(binary: str, root: Path) -> Iterator[Mailbox]:
    port = free_port()
    conf = _config(root, port)
    check = subprocess.run([binary, "-c", str(conf), "-n"], capture_output=True, text=True)
    if check.returncode != 0:
        raise RuntimeError(f"dovecot rejected the test config: {check.stderr.strip()}")
    # The master daemonizes: it must not inherit pipes we would wait on.
    subprocess.run(
        [binary, "-c", str(conf)],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    mailbox = Mailbox("127.0.0.1", port, USER, PASSWORD)
    try:

        def answers() -> bool:
            try:
                conn = imaplib.IMAP4(mailbox.host, port, timeout=2)
                conn.login(USER, PASSWORD)
                conn.select("INBOX")
                conn.logout()
            except (OSError, imaplib.IMAP4.error):
                return False
            return True

        try:
            wait_until(answers, timeout=15, what="dovecot to answer")
        except WaitTimeout:
            logfile = root / "dovecot.log"
            log = logfile.read_text() if logfile.exists() else ""
            raise RuntimeError(f"dovecot did not answer:\n{log[-2000:]}") from None
        yield mailbox
    finally:
        subprocess.run(
            [binary, "-c", str(conf), "stop"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )


def imap_settings(settings: Settings, box: Mailbox) -> Settings:
    """`settings` reading this mailbox over plain IMAP on loopback."""
    return settings.model_copy(
        update={
            "imap_host": box.host,
            "imap_port": box.port,
            "imap_username": box.username,
            "imap_password": SecretStr(box.password),
            "imap_security": "none",
        }
    )
