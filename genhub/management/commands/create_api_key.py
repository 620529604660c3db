"""Create an API key for USERNAME and print it once. The key is not stored."""

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser

from genhub.models import ApiKey


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", default="", help="A label to tell keys apart.")

    def handle(self, *args: Any, username: str, name: str, **options: Any) -> None:
        user, created = get_user_model().objects.get_or_create(username=username)
        if created:
            user.set_unusable_password()
            user.save()
            self.stderr.write(f"Created user {username} (no password; API access only).")
        _, key = ApiKey.issue(user, name=name)
        self.stderr.write("Keep this key now; it cannot be shown again:")
        self.stdout.write(key)
