"""E-mail through a real SMTP server on loopback (aiosmtpd), STARTTLS and implicit TLS."""
from __future__ import annotations

import email
from email import policy

import pytest

from outreach.errors import GatewayUnusable, MessageRejected, RetriableError
from outreach.mail import Email, SmtpChannel, SmtpSettings
from tests.outreach.conftest import SmtpServer
from tests.support import free_port

LETTER = Email(message_id=7, to="ivanov@example.ru", subject="Вход на портал компании",
               text="Здравствуйте, Иван!\nОткройте https://portal.example и войдите.")


def channel(server: SmtpServer, password: str = "mail-secret") -> SmtpChannel:
    security = "tls" if server.controller.ssl_context else "starttls"
    return SmtpChannel(SmtpSettings("127.0.0.1", server.port, security, "hr@example.ru", "Отдел кадров",
                                    user="hr@example.ru", password=password, timeout_s=5,
                                    ca_file=server.ca_file))


def test_letter_arrives_with_its_content(smtp_server: SmtpServer) -> None:
    message_id = channel(smtp_server).send(LETTER)
    [(sender, recipients, content)] = smtp_server.mailbox.letters
    assert (sender, recipients) == ("hr@example.ru", ["ivanov@example.ru"])
    letter = email.message_from_bytes(content, policy=policy.default)
    assert letter["Subject"] == "Вход на портал компании"
    assert letter["From"] == "Отдел кадров <hr@example.ru>"
    assert letter["Message-ID"] == message_id and "outreach.7" in message_id
    assert letter.get_content().replace("\r\n", "\n").strip() == LETTER.text


def test_wrong_password_makes_the_channel_unusable(smtp_server: SmtpServer) -> None:
    with pytest.raises(GatewayUnusable):
        channel(smtp_server, password="wrong").send(LETTER)
    assert smtp_server.mailbox.letters == []


def test_refused_recipient_rejects_only_the_message(smtp_server: SmtpServer) -> None:
    smtp_server.mailbox.refuse.add("ivanov@example.ru")
    with pytest.raises(MessageRejected) as info:
        channel(smtp_server).send(LETTER)
    assert info.value.code == 550


def test_unreachable_server_is_retriable() -> None:
    closed = SmtpChannel(SmtpSettings("127.0.0.1", free_port(), "starttls", "hr@example.ru", timeout_s=2))
    with pytest.raises(RetriableError):
        closed.send(LETTER)
