#!/usr/bin/env bash
# Create the PostgreSQL role and database salesbot uses; running it again changes nothing.
#
#   deploy/create_db.sh [ROLE] [DATABASE]        (as root or postgres, on the database server)
#
# ROLE and DATABASE default to "salesbot". The password is SALESBOT_DB_PASSWORD if set, else a
# new random one for a new role; an existing role keeps its password unless SALESBOT_DB_PASSWORD
# is given. Prints the SALESBOT_DATABASE_URL line for /etc/salesbot/salesbot.env
# (SALESBOT_DB_HOST / SALESBOT_DB_PORT change the host and port written into it).
set -euo pipefail

role=${1:-salesbot}
database=${2:-$role}
host=${SALESBOT_DB_HOST:-127.0.0.1}
port=${SALESBOT_DB_PORT:-5432}

for name in "$role" "$database"; do
    if ! [[ $name =~ ^[a-z_][a-z0-9_]{0,62}$ ]]; then
        echo "create_db.sh: '$name' is not a plain lowercase name (a-z, 0-9, _)" >&2
        exit 2
    fi
done

psql_admin() {
    # Peer authentication as the postgres superuser, from a directory it may read.
    if [ "$(id -un)" = postgres ]; then
        (cd / && psql -X -v ON_ERROR_STOP=1 -qAt "$@")
    else
        (cd / && runuser -u postgres -- psql -X -v ON_ERROR_STOP=1 -qAt "$@")
    fi
}

if ! psql_admin -c "SELECT 1" >/dev/null; then
    echo "create_db.sh: cannot reach PostgreSQL as the postgres user — is it installed and running?" >&2
    echo "  (apt-get install postgresql; pg_lsclusters; pg_ctlcluster 15 main start)" >&2
    exit 1
fi

role_exists=$(psql_admin -v role="$role" <<'SQL'
SELECT count(*) FROM pg_roles WHERE rolname = :'role';
SQL
)
password=${SALESBOT_DB_PASSWORD:-}
if [ "$role_exists" = 0 ]; then
    password=${password:-$(openssl rand -hex 24)}
    psql_admin -v role="$role" -v password="$password" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN PASSWORD %L', :'role', :'password') \gexec
SQL
    echo "created role $role" >&2
elif [ -n "$password" ]; then
    psql_admin -v role="$role" -v password="$password" <<'SQL'
SELECT format('ALTER ROLE %I LOGIN PASSWORD %L', :'role', :'password') \gexec
SQL
    echo "role $role exists; password set from SALESBOT_DB_PASSWORD" >&2
else
    echo "role $role exists; its password is unchanged" >&2
fi

psql_admin -v role="$role" -v database="$database" <<'SQL'
SELECT format('CREATE DATABASE %I OWNER %I ENCODING %L TEMPLATE template0', :'database', :'role', 'UTF8')
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'database') \gexec
SELECT format('ALTER DATABASE %I OWNER TO %I', :'database', :'role') \gexec
SELECT format('REVOKE ALL ON DATABASE %I FROM PUBLIC', :'database') \gexec
SELECT format('GRANT ALL ON DATABASE %I TO %I', :'database', :'role') \gexec
SQL
echo "database $database is owned by $role" >&2

echo "SALESBOT_DATABASE_URL=postgresql+asyncpg://$role:${password:-<its current password>}@$host:$port/$database"
