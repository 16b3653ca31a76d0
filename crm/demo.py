"""The demo data set (being written)."""

from crm.auth import services as auth_services


def load_demo(*, admin_email: str, admin_password: str) -> None:
    """Create the demo admin (the rest of the data set is being written)."""
    auth_services.create_user(
        email=admin_email, password=admin_password, role="admin", name="Demo Admin"
    )
