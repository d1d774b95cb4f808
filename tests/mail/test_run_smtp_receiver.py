from django.core.management import call_command

from channels_app.mail.management.commands import run_smtp_receiver


class FakeController:
    SMTP_kwargs = {"tls_context": None}

    def __init__(self, host, port):
        self.host, self.port, self.events = host, port, []

    def start(self):
        self.events.append("start")

    def stop(self):
        self.events.append("stop")


def fake_controllers(made):
    def make_controller(host, port):
        made.append(FakeController(host, port))
        return made[-1]

    return make_controller


def test_command_starts_the_receiver_on_the_given_address_and_stops_it(monkeypatch, capsys):
    made = []
    monkeypatch.setattr(run_smtp_receiver, "make_controller", fake_controllers(made))
    monkeypatch.setattr(run_smtp_receiver.Command, "wait_for_stop_signal", lambda self: None)

    call_command("run_smtp_receiver", "--host", "192.0.2.10", "--port", "2626")

    assert (made[0].host, made[0].port, made[0].events) == ("192.0.2.10", 2626, ["start", "stop"])
    assert "Receiving mail on 192.0.2.10:2626 without TLS" in capsys.readouterr().out


def test_command_defaults_come_from_settings(monkeypatch, settings):
    settings.MAIL_RECEIVER_HOST, settings.MAIL_RECEIVER_PORT = "127.0.0.1", 2525
    made = []
    monkeypatch.setattr(run_smtp_receiver, "make_controller", fake_controllers(made))
    monkeypatch.setattr(run_smtp_receiver.Command, "wait_for_stop_signal", lambda self: None)

    call_command("run_smtp_receiver")

    assert (made[0].host, made[0].port) == ("127.0.0.1", 2525)
