# test/lib.sh - shared by test/run-tests, test/demo and test/bench/run:
# installs what is missing, builds, and starts a throwaway PostgreSQL
# cluster and the local DCI registry.  Source it; call dci_cleanup on exit.

DCI_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DCI_PG_VERSION=${DCI_PG_VERSION:-15}
DCI_PGBIN=${DCI_PGBIN:-/usr/lib/postgresql/$DCI_PG_VERSION/bin}
PG_CONFIG=${PG_CONFIG:-$DCI_PGBIN/pg_config}
export PG_CONFIG

DCI_PACKAGES="postgresql-$DCI_PG_VERSION postgresql-server-dev-$DCI_PG_VERSION postgresql-contrib
  libcurl4-openssl-dev libssl-dev libjson-c-dev libmicrohttpd-dev pkg-config make gcc curl
  libipc-run-perl openssl stunnel4 python3-jsonschema python3-yaml"

say() { printf '\n== %s\n' "$*"; }

# Install the Debian packages that are missing (needs root on a fresh machine).
dci_install_deps() {
	local missing=() p
	for p in $DCI_PACKAGES; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	say "installing ${missing[*]}"
	if [ "$(id -u)" -ne 0 ]; then
		echo "missing packages: ${missing[*]} (run as root, or install them)" >&2
		return 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q >/dev/null
	# the cluster is ours: do not let the package create and start its own
	mkdir -p /etc/postgresql-common
	[ -f /etc/postgresql-common/createcluster.conf ] ||
		echo "create_main_cluster = false" > /etc/postgresql-common/createcluster.conf
	# keep our createcluster.conf without asking (no terminal in CI)
	apt-get install -y -q --no-install-recommends \
		-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${missing[@]}" >/dev/null
}

# Test and CI builds make every warning an error; a user's plain `make` only
# warns.  PostgreSQL's COPT reaches every compile, the test programs' too.
DCI_COPT=${DCI_COPT--Werror}

# Build the extension and the test programs, install the extension.
dci_build() {
	say "building dci (PostgreSQL $DCI_PG_VERSION)"
	make -C "$DCI_ROOT" -s -j2 COPT="$DCI_COPT" all test/registry/dci-registry >/dev/null
	make -C "$DCI_ROOT" -s install >/dev/null
}

# A TCP port of 127.0.0.1 that nothing listens on, below the kernel's
# ephemeral range (so a port-0 server started later cannot be given it).
dci_free_port() {
	local p
	for p in $(shuf -i 20000-32000 -n 50); do
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return 0; }
	done
	return 1
}

# A throwaway cluster owned by the postgres user, on a Unix socket only.
# With dci preloaded, the callback listener serves 127.0.0.1:$DCI_TEST_LISTENER_PORT
# for database $DCI_LISTENER_DATABASE (default contrib_regression, pg_regress's).
dci_start_cluster() {
	DCI_TMP=$(mktemp -d /tmp/dci-test.XXXXXX)
	chmod 755 "$DCI_TMP"
	local run=""
	if [ "$(id -u)" -eq 0 ]; then
		id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql postgres
		chown postgres "$DCI_TMP"
		run="runuser -u postgres --"
		export PGUSER=postgres
	else
		export PGUSER=$(id -un)
	fi
	DCI_PGRUN=$run
	$run "$DCI_PGBIN/initdb" -D "$DCI_TMP/data" -A trust -E UTF8 --locale=C.UTF-8 >"$DCI_TMP/initdb.log" 2>&1 ||
		{ cat "$DCI_TMP/initdb.log"; return 1; }
	cat >>"$DCI_TMP/data/postgresql.conf" <<CONF
listen_addresses = ''
unix_socket_directories = '$DCI_TMP'
port = 5432
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 40
shared_preload_libraries = '${DCI_PRELOAD-}'
log_min_messages = warning
CONF
	if [ -n "${DCI_PRELOAD-}" ]; then
		DCI_TEST_LISTENER_PORT=$(dci_free_port) || { echo "no free port for the listener" >&2; return 1; }
		export DCI_TEST_LISTENER_PORT
		cat >>"$DCI_TMP/data/postgresql.conf" <<CONF
dci.listener_port = $DCI_TEST_LISTENER_PORT
dci.listener_database = '${DCI_LISTENER_DATABASE:-contrib_regression}'
CONF
	fi
	$run "$DCI_PGBIN/pg_ctl" -D "$DCI_TMP/data" -l "$DCI_TMP/postgres.log" -w start >/dev/null ||
		{ cat "$DCI_TMP/postgres.log"; return 1; }
	export PGHOST=$DCI_TMP PGPORT=5432 PGDATABASE=postgres
}

# The local DCI registry on 127.0.0.1 with a free port.
dci_start_registry() {
	local reg="$DCI_ROOT/test/registry/dci-registry"
	"$reg" --port 0 --port-file "$DCI_TMP/registry.port" --fixtures "$DCI_ROOT/test/fixtures" \
		--key "$DCI_TMP/registry-ed25519.pem" --rsa-key "$DCI_TMP/registry-rsa.pem" \
		--sender-id registry.local --token spmis-static-token \
		--client spmis-client:spmis-secret --threads "${DCI_REGISTRY_THREADS:-2}" --quiet \
		--client spmis-basic:spmis-secret:basic --client spmis-query:spmis-secret:query \
		--blackhole-port-file "$DCI_TMP/blackhole.port" \
		--callback-backoff-ms 50 --callback-backoff-cap-ms 500 \
		2>"$DCI_TMP/registry.log" &
	DCI_REGISTRY_PID=$!
	local i
	for i in $(seq 1 100); do
		[ -s "$DCI_TMP/registry.port" ] && break
		sleep 0.05
	done
	[ -s "$DCI_TMP/registry.port" ] || { echo "registry did not start" >&2; cat "$DCI_TMP/registry.log" >&2; return 1; }
	DCI_TEST_PORT=$(cat "$DCI_TMP/registry.port")
	for i in $(seq 1 100); do
		[ -s "$DCI_TMP/blackhole.port" ] && break
		sleep 0.05
	done
	DCI_TEST_BLACKHOLE_PORT=$(cat "$DCI_TMP/blackhole.port" 2>/dev/null || true)
	export DCI_TEST_BLACKHOLE_PORT
	DCI_REGISTRY_URL="http://127.0.0.1:$DCI_TEST_PORT"
	DCI_TEST_REGISTRY_PUBKEY=$(curl -sf "$DCI_REGISTRY_URL/admin/pubkey")
	DCI_TEST_REGISTRY_RSA_PUBKEY=$(curl -sf "$DCI_REGISTRY_URL/admin/pubkey?alg=rs256")
	export DCI_TEST_PORT DCI_REGISTRY_URL DCI_TEST_REGISTRY_PUBKEY DCI_TEST_REGISTRY_RSA_PUBKEY
}

# A second registry that a test may kill mid-batch (the same keys and
# credentials as the first, so the same source settings work against it).
dci_start_victim() {
	local reg="$DCI_ROOT/test/registry/dci-registry"
	"$reg" --port 0 --port-file "$DCI_TMP/victim.port" --fixtures "$DCI_ROOT/test/fixtures" \
		--key "$DCI_TMP/registry-ed25519.pem" --rsa-key "$DCI_TMP/registry-rsa.pem" \
		--sender-id registry.local --token spmis-static-token \
		--client spmis-client:spmis-secret --threads 2 --quiet \
		2>"$DCI_TMP/victim.log" &
	DCI_VICTIM_PID=$!
	local i
	for i in $(seq 1 100); do
		[ -s "$DCI_TMP/victim.port" ] && break
		sleep 0.05
	done
	[ -s "$DCI_TMP/victim.port" ] || { echo "victim registry did not start" >&2; return 1; }
	DCI_TEST_VICTIM_PORT=$(cat "$DCI_TMP/victim.port")
	DCI_TEST_VICTIM_PID=$DCI_VICTIM_PID
	export DCI_TEST_VICTIM_PORT DCI_TEST_VICTIM_PID
}

# TLS in front of the registry (stunnel, with a throwaway certificate for
# 127.0.0.1): for tests of certificate checks and TLS session reuse.
dci_start_tls() {
	local p
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
		-keyout "$DCI_TMP/tls-key.pem" -out "$DCI_TMP/tls-cert.pem" >/dev/null 2>&1
	for p in $(shuf -i 20000-60000 -n 10); do
		cat >"$DCI_TMP/stunnel.conf" <<CONF
foreground = yes
pid =
debug = info
output = $DCI_TMP/stunnel.log
[registry]
accept = 127.0.0.1:$p
connect = 127.0.0.1:$DCI_TEST_PORT
cert = $DCI_TMP/tls-cert.pem
key = $DCI_TMP/tls-key.pem
CONF
		stunnel4 "$DCI_TMP/stunnel.conf" >/dev/null 2>&1 &
		DCI_STUNNEL_PID=$!
		sleep 0.3
		if kill -0 "$DCI_STUNNEL_PID" 2>/dev/null && grep -q "Configuration successful" "$DCI_TMP/stunnel.log"; then
			export DCI_TEST_TLS_PORT=$p DCI_TEST_TLS_CA="$DCI_TMP/tls-cert.pem" DCI_TEST_TLS_LOG="$DCI_TMP/stunnel.log"
			chmod 644 "$DCI_TMP/tls-cert.pem" "$DCI_TMP/stunnel.log"
			return 0
		fi
		kill "$DCI_STUNNEL_PID" 2>/dev/null
		DCI_STUNNEL_PID=
	done
	echo "stunnel did not start" >&2
	return 1
}

dci_cleanup() {
	[ -n "${DCI_STUNNEL_PID:-}" ] && kill "$DCI_STUNNEL_PID" 2>/dev/null && wait "$DCI_STUNNEL_PID" 2>/dev/null
	[ -n "${DCI_REGISTRY_PID:-}" ] && kill "$DCI_REGISTRY_PID" 2>/dev/null && wait "$DCI_REGISTRY_PID" 2>/dev/null
	[ -n "${DCI_VICTIM_PID:-}" ] && kill "$DCI_VICTIM_PID" 2>/dev/null && wait "$DCI_VICTIM_PID" 2>/dev/null
	if [ -n "${DCI_TMP:-}" ] && [ -d "$DCI_TMP/data" ]; then
		$DCI_PGRUN "$DCI_PGBIN/pg_ctl" -D "$DCI_TMP/data" -m immediate stop >/dev/null 2>&1
	fi
	[ -n "${DCI_TMP:-}" ] && [ -z "${DCI_KEEP_TMP:-}" ] && rm -rf "$DCI_TMP"
	DCI_REGISTRY_PID=
}
