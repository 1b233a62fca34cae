"""E-mail over SMTP (smtplib): STARTTLS or implicit TLS, credentials from the environment.

Failures map onto the one exception tree (outreach.errors): a refused connection or a 4xx reply is
retriable, a refused recipient (5xx to RCPT) rejects only this message, a refused login or sender
makes the channel unusable, and a connection lost after DATA leaves the outcome unknown.
"""
from __future__ import annotations

import smtplib
import socket
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, make_msgid

from outreach.errors import GatewayUnusable, MessageRejected, OutcomeUnknown, RetriableError

SECURITY = ("starttls", "tls", "none")


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    security: str  # starttls | tls | none (none only for a relay on loopback)
    sender: str
    sender_name: str = ""
    user: str = ""
    password: str = ""
    timeout_s: float = 30.0
    ca_file: str | None = None  # a private CA (tests); default: the system's


@dataclass(frozen=True)
class Email:
    """One letter; ``message_id`` is ours and becomes the Message-ID header's local part."""

    message_id: int
    to: str
    subject: str
    text: str


class SmtpChannel:
    name = "smtp"

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings

    def build(self, email: Email) -> EmailMessage:
        message = EmailMessage()
        message["From"] = formataddr((self.settings.sender_name, self.settings.sender))
        message["To"] = email.to
        message["Subject"] = email.subject
        domain = self.settings.sender.rpartition("@")[2] or None
        message["Message-ID"] = make_msgid(idstring=f"outreach.{email.message_id}", domain=domain)
        message.set_content(email.text)
        return message

    def send(self, email: Email) -> str:
        """Send one letter; returns its Message-ID."""
        message = self.build(email)
        with self._connect() as smtp:
            self._login(smtp)
            try:
                refused = smtp.send_message(message)
            except smtplib.SMTPRecipientsRefused as exc:
                code, reply = next(iter(exc.recipients.values()))
                raise _recipient_error(code, reply) from None
            except smtplib.SMTPSenderRefused as exc:
                raise GatewayUnusable(f"SMTP: адрес отправителя отклонён ({exc.smtp_code})", code=exc.smtp_code) from None
            except smtplib.SMTPDataError as exc:
                if 400 <= exc.smtp_code < 500:
                    raise RetriableError(f"SMTP: временный отказ ({exc.smtp_code})", code=exc.smtp_code) from None
                raise MessageRejected(f"SMTP: письмо отклонено ({exc.smtp_code})", code=exc.smtp_code) from None
            except (smtplib.SMTPServerDisconnected, OSError):
                raise OutcomeUnknown("SMTP: соединение оборвалось во время передачи письма") from None
            if refused:
                code, reply = next(iter(refused.values()))
                raise _recipient_error(code, reply)
        return str(message["Message-ID"])

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        context = ssl.create_default_context(cafile=s.ca_file)
        try:
            if s.security == "tls":
                return smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout_s, context=context)
            smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout_s)
            if s.security == "starttls":
                smtp.starttls(context=context)
            return smtp
        except ssl.SSLError as exc:
            raise GatewayUnusable(f"SMTP: ошибка TLS ({exc.reason})") from None
        except smtplib.SMTPNotSupportedError:
            raise GatewayUnusable("SMTP: сервер не поддерживает STARTTLS") from None
        except (OSError, smtplib.SMTPException) as exc:
            raise RetriableError(f"SMTP: сервер {s.host}:{s.port} недоступен ({type(exc).__name__})") from None

    def _login(self, smtp: smtplib.SMTP) -> None:
        if not self.settings.user:
            return
        try:
            smtp.login(self.settings.user, self.settings.password)
        except smtplib.SMTPAuthenticationError as exc:
            raise GatewayUnusable(f"SMTP: неверный логин или пароль ({exc.smtp_code})", code=exc.smtp_code) from None
        except (smtplib.SMTPException, socket.timeout, OSError):
            raise RetriableError("SMTP: вход не удался, повторим позже") from None


def _recipient_error(code: int, reply: bytes) -> Exception:
    if 400 <= code < 500:
        return RetriableError(f"SMTP: получатель временно недоступен ({code})", code=code)
    return MessageRejected(f"SMTP: адрес получателя отклонён ({code})", code=code)
