"""The audit trail of users and permissions: PostgreSQL triggers write every change.

Whatever path changes a user, a group membership or a permission (the admin, the API,
a command, a shell, plain SQL), a trigger writes an ``accounts_userauditevent`` row in
the same transaction. The actor comes from two transaction-local settings the
application sets before such a write (``accounts/audit.py``): ``lending.actor_id`` and
``lending.actor_source``; ``database_role`` is the role that connected
(``session_user``). The functions run as their owner (SECURITY DEFINER), so the
application's role, which may only read the table, cannot write a row of its own; rows
are never updated or deleted.
"""

from django.db import migrations, models

FUNCTIONS = """
CREATE FUNCTION accounts_audit_write(
    action text, subject_id bigint, subject_email text, group_name text,
    permission text, changes jsonb
) RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
    INSERT INTO accounts_userauditevent (
        occurred_at, action, subject_id, subject_email, group_name, permission, changes,
        actor_id, actor_source, database_role, transaction_id
    ) VALUES (
        clock_timestamp(), action, subject_id, coalesce(subject_email, ''),
        coalesce(group_name, ''), coalesce(permission, ''), changes,
        nullif(current_setting('lending.actor_id', true), '')::bigint,
        coalesce(current_setting('lending.actor_source', true), ''),
        session_user, txid_current()
    );
END;
$$;

CREATE FUNCTION accounts_audit_user() RETURNS trigger LANGUAGE plpgsql
SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    changes jsonb := '{}';
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM accounts_audit_write('user_created', NEW.id, NEW.email, NULL, NULL,
            jsonb_build_object('email', NEW.email, 'name', NEW.name, 'role', NEW.role,
                               'is_active', NEW.is_active, 'is_staff', NEW.is_staff,
                               'is_superuser', NEW.is_superuser));
        RETURN NULL;
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM accounts_audit_write('user_deleted', OLD.id, OLD.email, NULL, NULL,
            jsonb_build_object('email', OLD.email, 'name', OLD.name, 'role', OLD.role,
                               'is_active', OLD.is_active));
        RETURN NULL;
    END IF;
    IF NEW.email IS DISTINCT FROM OLD.email THEN
        changes := changes || jsonb_build_object('email', jsonb_build_array(OLD.email, NEW.email));
    END IF;
    IF NEW.name IS DISTINCT FROM OLD.name THEN
        changes := changes || jsonb_build_object('name', jsonb_build_array(OLD.name, NEW.name));
    END IF;
    IF NEW.role IS DISTINCT FROM OLD.role THEN
        changes := changes || jsonb_build_object('role', jsonb_build_array(OLD.role, NEW.role));
    END IF;
    IF NEW.is_active IS DISTINCT FROM OLD.is_active THEN
        changes := changes || jsonb_build_object(
            'is_active', jsonb_build_array(OLD.is_active, NEW.is_active));
    END IF;
    IF NEW.is_staff IS DISTINCT FROM OLD.is_staff THEN
        changes := changes || jsonb_build_object(
            'is_staff', jsonb_build_array(OLD.is_staff, NEW.is_staff));
    END IF;
    IF NEW.is_superuser IS DISTINCT FROM OLD.is_superuser THEN
        changes := changes || jsonb_build_object(
            'is_superuser', jsonb_build_array(OLD.is_superuser, NEW.is_superuser));
    END IF;
    IF NEW.password IS DISTINCT FROM OLD.password THEN
        -- Never the hash: that a password was set (or re-hashed at a login) is enough.
        changes := changes || jsonb_build_object('password', 'changed');
    END IF;
    IF changes <> '{}' THEN  -- last_login and the like are not recorded
        PERFORM accounts_audit_write('user_changed', NEW.id, NEW.email, NULL, NULL, changes);
    END IF;
    RETURN NULL;
END;
$$;

CREATE FUNCTION accounts_audit_user_link() RETURNS trigger LANGUAGE plpgsql
SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    link record;
    email text;
    gname text;
    perm text;
BEGIN
    IF TG_OP = 'INSERT' THEN link := NEW; ELSE link := OLD; END IF;
    SELECT u.email INTO email FROM accounts_user u WHERE u.id = link.user_id;
    IF TG_TABLE_NAME = 'accounts_user_groups' THEN
        SELECT g.name INTO gname FROM auth_group g WHERE g.id = link.group_id;
        PERFORM accounts_audit_write(
            CASE TG_OP WHEN 'INSERT' THEN 'group_added' ELSE 'group_removed' END,
            link.user_id, email, gname, NULL, jsonb_build_object('group_id', link.group_id));
    ELSE
        SELECT ct.app_label || '.' || p.codename INTO perm
            FROM auth_permission p JOIN django_content_type ct ON ct.id = p.content_type_id
            WHERE p.id = link.permission_id;
        PERFORM accounts_audit_write(
            CASE TG_OP WHEN 'INSERT' THEN 'permission_added' ELSE 'permission_removed' END,
            link.user_id, email, NULL, perm,
            jsonb_build_object('permission_id', link.permission_id));
    END IF;
    RETURN NULL;
END;
$$;

CREATE FUNCTION accounts_audit_group() RETURNS trigger LANGUAGE plpgsql
SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    link record;
    gname text;
    perm text;
BEGIN
    IF TG_TABLE_NAME = 'auth_group' THEN
        IF TG_OP = 'DELETE' THEN
            PERFORM accounts_audit_write('group_deleted', NULL, NULL, OLD.name, NULL,
                jsonb_build_object('group_id', OLD.id));
        ELSIF NEW.name IS DISTINCT FROM OLD.name THEN
            PERFORM accounts_audit_write('group_changed', NULL, NULL, NEW.name, NULL,
                jsonb_build_object('name', jsonb_build_array(OLD.name, NEW.name)));
        END IF;
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' THEN link := NEW; ELSE link := OLD; END IF;
    SELECT g.name INTO gname FROM auth_group g WHERE g.id = link.group_id;
    SELECT ct.app_label || '.' || p.codename INTO perm
        FROM auth_permission p JOIN django_content_type ct ON ct.id = p.content_type_id
        WHERE p.id = link.permission_id;
    PERFORM accounts_audit_write(
        CASE TG_OP WHEN 'INSERT' THEN 'group_permission_added'
                   ELSE 'group_permission_removed' END,
        NULL, NULL, gname, perm,
        jsonb_build_object('group_id', link.group_id, 'permission_id', link.permission_id));
    RETURN NULL;
END;
$$;

CREATE FUNCTION accounts_audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% on accounts_userauditevent is not allowed: the audit trail is append-only',
        TG_OP USING ERRCODE = 'restrict_violation';
END;
$$;

CREATE TRIGGER accounts_user_audit
    AFTER INSERT OR UPDATE OR DELETE ON accounts_user
    FOR EACH ROW EXECUTE FUNCTION accounts_audit_user();
CREATE TRIGGER accounts_user_groups_audit
    AFTER INSERT OR DELETE ON accounts_user_groups
    FOR EACH ROW EXECUTE FUNCTION accounts_audit_user_link();
CREATE TRIGGER accounts_user_user_permissions_audit
    AFTER INSERT OR DELETE ON accounts_user_user_permissions
    FOR EACH ROW EXECUTE FUNCTION accounts_audit_user_link();
CREATE TRIGGER auth_group_audit
    AFTER UPDATE OR DELETE ON auth_group
    FOR EACH ROW EXECUTE FUNCTION accounts_audit_group();
CREATE TRIGGER auth_group_permissions_audit
    AFTER INSERT OR DELETE ON auth_group_permissions
    FOR EACH ROW EXECUTE FUNCTION accounts_audit_group();
CREATE TRIGGER accounts_userauditevent_append_only
    BEFORE UPDATE OR DELETE ON accounts_userauditevent
    FOR EACH ROW EXECUTE FUNCTION accounts_audit_refuse_change();
-- Only the triggers write a row: nobody else may call the writer (it runs as its owner).
-- TRUNCATE is the owner's alone (the application's role may only read the table).
REVOKE ALL ON FUNCTION accounts_audit_write(text, bigint, text, text, text, jsonb) FROM PUBLIC;
"""

REVERSE = """
DROP TRIGGER accounts_userauditevent_append_only ON accounts_userauditevent;
DROP TRIGGER auth_group_permissions_audit ON auth_group_permissions;
DROP TRIGGER auth_group_audit ON auth_group;
DROP TRIGGER accounts_user_user_permissions_audit ON accounts_user_user_permissions;
DROP TRIGGER accounts_user_groups_audit ON accounts_user_groups;
DROP TRIGGER accounts_user_audit ON accounts_user;
DROP FUNCTION accounts_audit_refuse_change();
DROP FUNCTION accounts_audit_group();
DROP FUNCTION accounts_audit_user_link();
DROP FUNCTION accounts_audit_user();
DROP FUNCTION accounts_audit_write(text, bigint, text, text, text, jsonb);
"""


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0005_data_export'),
        ('auth', '0012_alter_user_first_name_max_length'),
        ('contenttypes', '0002_remove_content_type_name'),
    ]

    operations = [
        migrations.CreateModel(
            name='UserAuditEvent',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('occurred_at', models.DateTimeField()),
                ('action', models.CharField(choices=[('user_created', 'User created'), ('user_changed', 'User changed'), ('user_deleted', 'User deleted'), ('group_added', 'Added to group'), ('group_removed', 'Removed from group'), ('permission_added', 'Permission given'), ('permission_removed', 'Permission taken away'), ('group_permission_added', 'Permission given to group'), ('group_permission_removed', 'Permission taken from group'), ('group_changed', 'Group renamed'), ('group_deleted', 'Group deleted')], max_length=32)),
                ('subject_id', models.BigIntegerField(blank=True, db_index=True, null=True)),
                ('subject_email', models.CharField(blank=True, max_length=254)),
                ('group_name', models.CharField(blank=True, max_length=150)),
                ('permission', models.CharField(blank=True, max_length=255)),
                ('changes', models.JSONField(default=dict)),
                ('actor_id', models.BigIntegerField(blank=True, null=True)),
                ('actor_source', models.CharField(blank=True, max_length=255)),
                ('database_role', models.CharField(max_length=63)),
                ('transaction_id', models.BigIntegerField()),
            ],
            options={
                'ordering': ['-id'],
                'indexes': [models.Index(fields=['-occurred_at'], name='accounts_audit_occurred_idx')],
            },
        ),
        migrations.RunSQL(FUNCTIONS, REVERSE),
    ]
