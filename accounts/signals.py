"""What the accounts app announces to the apps above it.

The apps that depend on accounts react to its events without accounts importing them
(``docs/ARCHITECTURE.md``): the wallets app opens every new user's wallet.
"""

from django.dispatch import Signal

# Sent by ``accounts.services.user_create`` inside its transaction, once the user row is
# saved: ``user``. A receiver that raises aborts the creation.
user_created = Signal()
