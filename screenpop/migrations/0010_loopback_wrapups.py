# Wrap-ups and the tenant settings of the write-back (issue 21).

import django.db.models.deletion
import screenpop.validation
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('screenpop', '0009_call_links'),
    ]

    operations = [
        migrations.AddField(
            model_name='tenant',
            name='participant_attributes',
            field=models.JSONField(blank=True, default=dict, help_text='Names of the participant attributes the pop writes on the caller in Genesys, by what they hold: ticket_id, ticket_status, ticket_subject, ticket_url, contact_name, match_count. Missing keys take the defaults (screenpop_ticket_id, ...); a name set to "" is not written; {"enabled": false} writes none.', validators=[screenpop.validation.validate_participant_attributes], verbose_name='participant attribute names'),
        ),
        migrations.AddField(
            model_name='tenant',
            name='wrapup_status_map',
            field=models.JSONField(blank=True, default=dict, help_text='Optional: the Freshdesk status a ticket takes when a call on it wraps up with a code, e.g. {"Resolved": 4, "Follow-up needed": 3} (codes by name, as in Genesys; statuses as Freshdesk numbers: 2 Open, 3 Pending, 4 Resolved, 5 Closed, 6+ custom).', validators=[screenpop.validation.validate_status_map], verbose_name='ticket status by wrap-up code'),
        ),
        migrations.AddField(
            model_name='tenant',
            name='wrapup_unknown_caller',
            field=models.CharField(choices=[('new_ticket', 'New ticket with the note'), ('nothing', 'Write nothing')], default='new_ticket', help_text="What wrap-up writes when no Freshdesk contact has the caller's number and no ticket is linked.", max_length=16, verbose_name='wrap-up of a call from an unknown number'),
        ),
        migrations.AddField(
            model_name='tenant',
            name='wrapup_unlinked',
            field=models.CharField(choices=[('contact_ticket', "Note on the caller's most recent open ticket"), ('new_ticket', 'New ticket with the note'), ('nothing', 'Write nothing')], default='contact_ticket', help_text="Where the call's note goes when the agent linked no ticket and the caller is a known contact. With no open ticket, 'most recent open ticket' writes nothing.", max_length=16, verbose_name='wrap-up of a call with no linked ticket'),
        ),
        migrations.CreateModel(
            name='CallWrapUp',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('conversation_id', models.CharField(max_length=64)),
                ('user_id', models.CharField(max_length=64, verbose_name='Genesys user id')),
                ('participant_id', models.CharField(blank=True, max_length=64)),
                ('queue_id', models.CharField(blank=True, max_length=64)),
                ('wrapup_code', models.CharField(blank=True, max_length=255)),
                ('wrapup_notes', models.TextField(blank=True)),
                ('wrapup_duration_ms', models.BigIntegerField(blank=True, null=True)),
                ('direction', models.CharField(blank=True, max_length=16)),
                ('phone_raw', models.CharField(blank=True, max_length=255)),
                ('event_time', models.DateTimeField(blank=True, null=True)),
                ('received_at', models.DateTimeField()),
                ('state', models.CharField(choices=[('pending', 'Pending'), ('written', 'Note written'), ('skipped', 'Nothing to write'), ('failed', 'Failed')], default='pending', max_length=16)),
                ('attempts', models.PositiveIntegerField(default=0)),
                ('next_attempt_at', models.DateTimeField(blank=True, null=True)),
                ('lease_owner', models.CharField(blank=True, max_length=64)),
                ('lease_expires_at', models.DateTimeField(blank=True, null=True)),
                ('ticket_id', models.BigIntegerField(blank=True, null=True)),
                ('ticket_created', models.BooleanField(default=False)),
                ('ticket_attempted_at', models.DateTimeField(blank=True, null=True)),
                ('note_id', models.BigIntegerField(blank=True, null=True)),
                ('note_attempted_at', models.DateTimeField(blank=True, null=True)),
                ('status_set', models.PositiveSmallIntegerField(blank=True, null=True)),
                ('last_error', models.TextField(blank=True)),
                ('completed_at', models.DateTimeField(blank=True, null=True)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('tenant', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='wrapups', to='screenpop.tenant')),
            ],
            options={
                'verbose_name': 'call wrap-up',
                'ordering': ['-received_at'],
                'indexes': [models.Index(fields=['state', 'next_attempt_at'], name='wrapup_due_idx')],
                'constraints': [models.UniqueConstraint(fields=('tenant', 'conversation_id', 'user_id'), name='unique_wrapup_per_agent')],
            },
        ),
    ]
