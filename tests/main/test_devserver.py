"""`make run`'s server: the address it serves on is the one its links use."""

from crm.devserver import child_environment


def test_links_point_at_the_port_served_unless_base_url_is_set():
    env = child_environment({"PATH": "/usr/bin"}, "127.0.0.1", "5071")
    assert env == {"PATH": "/usr/bin", "BASE_URL": "http://127.0.0.1:5071"}
    chosen = {"BASE_URL": "https://vertskap.example.no"}
    assert child_environment(chosen, "127.0.0.1", "5071") == chosen
