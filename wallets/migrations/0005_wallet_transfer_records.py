"""Deposits and withdrawals get a business record of their own (``WalletTransfer``).

Entries posted before it existed are given theirs from their own wallet posting: those
books were already held to the balances by reconcile; from now on every new deposit
and withdrawal writes its record with its entry, and reconcile checks each entry
against it (``entries_justified``).
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('ledger', '0006_business_date'),
        ('wallets', '0004_reverse_deposit_permission'),
    ]

    operations = [
        migrations.CreateModel(
            name='WalletTransfer',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('DEPOSIT', 'Deposit'), ('WITHDRAWAL', 'Withdrawal')], max_length=16)),
                ('amount', models.DecimalField(decimal_places=2, max_digits=14)),
                ('idempotency_key', models.CharField(max_length=255)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('entry', models.OneToOneField(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='ledger.journalentry')),
                ('wallet', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='transfers', to='wallets.wallet')),
            ],
            options={
                'constraints': [models.CheckConstraint(condition=models.Q(('amount__gt', 0)), name='wallets_transfer_amount_positive')],
            },
        ),
        migrations.RunSQL(
            """
            INSERT INTO wallets_wallettransfer (wallet_id, kind, amount, idempotency_key,
                                                entry_id, created_at)
            SELECT w.user_id, e.kind, abs(p.amount), e.idempotency_key, e.id, e.created_at
            FROM ledger_journalentry e
            JOIN ledger_posting p ON p.entry_id = e.id
            JOIN wallets_wallet w ON w.account_id = p.account_id
            WHERE e.kind IN ('DEPOSIT', 'WITHDRAWAL')
            ORDER BY e.id
            """,
            migrations.RunSQL.noop,
        ),
    ]
