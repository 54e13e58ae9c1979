-- Schema of record (DESIGN.md §2). The tables of seed 000 (§9.1) column for column, plus what the
-- design needs; every addition is marked "added". TypeORM entities in libs/persistence map onto this
-- file with synchronize off, and test persistence/schema.integration-spec.ts proves they agree.
-- It makes a new database, recorded as being at every migration (the `migrations` table at the end);
-- a database that has tables is upgraded by `npm run migrate`, never by this file. Every change here
-- comes with its migration (docs/architecture.md, "Schema and migrations").

CREATE DATABASE IF NOT EXISTS sandbox CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;

USE sandbox;

-- added: loaded over a database made earlier, this file would record migrations that never ran
DELIMITER //
BEGIN NOT ATOMIC
    IF EXISTS (SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'sessions') THEN
        SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'init.sql makes a new database; this one has tables: upgrade it with npm run migrate';
    END IF;
END//
DELIMITER ;

CREATE TABLE IF NOT EXISTS sessions (
    id VARCHAR(64) PRIMARY KEY,
    template_id VARCHAR(64) NOT NULL,
    tenant VARCHAR(64) NOT NULL,         -- added: owner; another tenant's key sees 404 for it
    idempotency_key VARCHAR(128) NULL,   -- added: Idempotency-Key of the POST that created it
    request_hash CHAR(64) NULL,          -- added: sha256 of that request's body; a reused key with another body is refused
    trace_parent VARCHAR(55) NULL,       -- added: W3C traceparent of the request that created it; the agent's spans continue that trace
    status ENUM('creating', 'running', 'completed', 'failed', 'timeout', 'terminated') NOT NULL,
    runtime_type ENUM('docker', 'kubernetes') NOT NULL,
    runtime_node VARCHAR(128),           -- node it is bound to; NULL while unplaced (I1: set once, conditionally)
    container_id VARCHAR(128),
    pod_name VARCHAR(128),
    workspace_path VARCHAR(256),         -- s3://bucket/sessions/{session_id}/; NULL once retention deleted it
    workspace_version INT NOT NULL DEFAULT 0,  -- added: bumped by every change of the stored workspace; 0 = nothing stored yet
    resources_cpu VARCHAR(16),
    resources_memory VARCHAR(16),
    resources_disk VARCHAR(16),
    env_vars JSON,
    timeout INT NOT NULL DEFAULT 300,    -- idle timeout, seconds
    error VARCHAR(1024) NULL,            -- added: why the session failed
    error_code VARCHAR(32) NULL,         -- added: why, for machines: no_capacity, image_missing, start_failed, template_missing
    placement_requested_at TIMESTAMP(3) NULL,  -- added: when it asked for a node; with status creating and no node: it waits (the placement queue's order)
    last_activity_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
    completed_at TIMESTAMP NULL,
    INDEX idx_status (status),
    INDEX idx_template (template_id),
    INDEX idx_created (created_at),
    INDEX idx_runtime_node (runtime_node),
    INDEX idx_last_activity (last_activity_at),
    INDEX idx_tenant_status (tenant, status),
    INDEX idx_completed (completed_at),                            -- added: retention takes the oldest ended sessions
    INDEX idx_idempotency_created (idempotency_key, created_at),   -- added: retention forgets keys after 24 h, visiting only keyed rows
    UNIQUE INDEX uq_sessions_idempotency (tenant, idempotency_key),
    INDEX idx_placement_requested (placement_requested_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS executions (
    id VARCHAR(64) PRIMARY KEY,          -- time-ordered (ULID): a session runs its executions in id order (I2)
    session_id VARCHAR(64) NOT NULL,
    code TEXT NOT NULL,                  -- 65 535 bytes at most: the API answers 413 above that
    language VARCHAR(16) NOT NULL,
    status ENUM('pending', 'running', 'completed', 'failed', 'timeout', 'crashed') NOT NULL,
    stdin MEDIUMTEXT NULL,               -- added: jobs carry ids only, the input lives here
    env_vars JSON NULL,                  -- added: this execution's environment over the session's; never returned
    args JSON NULL,                      -- added: argv after the program
    encoding ENUM('utf8', 'base64') NOT NULL DEFAULT 'utf8',  -- added: base64: stdin, stdout and stderr are base64 of bytes
    idempotency_key VARCHAR(128) NULL,   -- added: Idempotency-Key of the POST that created it
    request_hash CHAR(64) NULL,          -- added: sha256 of that request's body
    trace_parent VARCHAR(55) NULL,       -- added: W3C traceparent of the request that created it
    input_files JSON NULL,               -- added: [{path, content_base64}] written to the workspace before the run
    collect JSON NULL,                   -- added: glob patterns of workspace files to return with the result
    context_id VARCHAR(64) NULL,         -- added: the interpreter context it runs in as a cell
    test_cases JSON NULL,                -- added: [{stdin, expected_output, args, timeout}]: the program runs once per case
    compare VARCHAR(8) NULL,             -- added: how outputs are held against expected ones: exact, trim, tokens
    callback_url VARCHAR(2048) NULL,     -- added: POSTed the result, signed, when the execution ends
    webhook_state ENUM('pending', 'queued', 'delivered', 'failed') NULL,  -- added: that delivery (NULL: no callback_url)
    webhook_format VARCHAR(16) NULL,     -- added: what it carries: platform (NULL), judge0, judge0-base64
    timeout INT NOT NULL DEFAULT 30,     -- added: wall-time limit, seconds
    stdout MEDIUMTEXT,
    stderr MEDIUMTEXT,
    stdout_truncated BOOLEAN NOT NULL DEFAULT FALSE,  -- added: output is capped before it is stored
    stderr_truncated BOOLEAN NOT NULL DEFAULT FALSE,  -- added
    exit_code INT,
    execution_time FLOAT,                -- seconds the program ran (wall)
    error TEXT NULL,                     -- added: readable reason of failed/timeout/crashed
    reason VARCHAR(32) NULL,             -- added: machine-readable cause: exited, wall_timeout, memory_limit, output_limit, pids_limit, signal, cancelled, no_capacity, sandbox_lost, agent_lost, input_file, context_lost, compile_error, internal
    resource_usage JSON NULL,            -- added: {wall_ms, cpu_ms, peak_memory_bytes, stdout_bytes, stderr_bytes, signal}
    artifacts JSON,                      -- [{path, size, mime_type, sha256, etag}] created or modified by this execution
    collected JSON NULL,                 -- added: the files matching `collect` after the run, same shape
    skipped_artifacts JSON NULL,         -- added: {count, items: [{path, size, reason}]} not stored (limits, symlinks)
    results JSON NULL,                   -- added: rich results [{kind, data: {mime: text}, stored: {mime: {key, size}}}]
    context_state JSON NULL,             -- added: a cell's interpreter {started, reset}
    test_results JSON NULL,              -- added: {compare, summary: {passed, total, ran, verdicts}, cases: [{verdict, …}]}
    compile_output MEDIUMTEXT NULL,      -- added: what the compiler said (C, C++), capped
    retry_count INT DEFAULT 0,
    attempt INT NOT NULL DEFAULT 1,      -- added: fences every agent write (status='running' AND attempt=?)
    attempts JSON NULL,                  -- added: history [{attempt, node, started_at, ended_at, outcome}], e.g. agent_lost
    runtime_node VARCHAR(128) NULL,      -- added: node running the current attempt
    started_at TIMESTAMP(3) NULL,        -- added
    last_heartbeat_at TIMESTAMP(3) NULL,  -- ms: the reaper judges staleness to the ms (docs/architecture.md, fencing)
    created_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),  -- ms: the benchmark splits a run's latency by these
    completed_at TIMESTAMP(3) NULL,
    cancel_requested_at TIMESTAMP(3) NULL,  -- added: POST /v1/executions/:id/cancel of a running one (never retried after)
    CONSTRAINT fk_executions_session FOREIGN KEY (session_id) REFERENCES sessions(id) ON DELETE CASCADE,
    INDEX idx_session (session_id),
    INDEX idx_status (status),
    INDEX idx_created (created_at),
    INDEX idx_last_heartbeat (last_heartbeat_at),
    INDEX idx_session_status (session_id, status),
    INDEX idx_idempotency_created (idempotency_key, created_at),   -- added: retention forgets keys after 24 h
    INDEX idx_webhook_state (webhook_state),                       -- added: the reaper's webhook outbox
    UNIQUE INDEX uq_executions_idempotency (session_id, idempotency_key)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS templates (
    id VARCHAR(64) PRIMARY KEY,
    name VARCHAR(128) NOT NULL UNIQUE,
    image VARCHAR(256) NOT NULL,
    base_image VARCHAR(256),
    language VARCHAR(16) NOT NULL DEFAULT 'python',  -- added: language of executions that name none
    pre_installed_packages JSON,
    default_resources_cpu VARCHAR(16),
    default_resources_memory VARCHAR(16),
    default_resources_disk VARCHAR(16),
    security_context JSON,
    limits JSON NULL,                    -- added: per-template limits and maximums of per-request overrides (libs/domain template.ts)
    runtimes JSON NULL,                  -- added: {image, languages: [{language, version, runtime}]} as a sandbox of that image said (probed at its build)
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
    INDEX idx_name (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- added: the manifest of every session's workspace, its state of record (sessions.workspace_version counts
-- its changes). A file's bytes live at object_key, a key written once by one writer and never reused
-- (sessions/<id>/objects/<writer>/<sha256 of the path>): an object nobody committed here is invisible.
CREATE TABLE IF NOT EXISTS workspace_files (
    session_id VARCHAR(64) NOT NULL,
    path VARBINARY(1024) NOT NULL,       -- UTF-8 workspace path; binary so that (session_id, path) is one ordered key
    object_key VARCHAR(512) NOT NULL,
    size BIGINT NOT NULL,
    sha256 CHAR(64) NOT NULL,
    etag VARCHAR(128) NOT NULL,          -- the store's etag of object_key
    version INT NOT NULL,                -- the workspace_version that wrote it
    written_by VARCHAR(128) NOT NULL,    -- <execution id>.<attempt> of an agent's push, or api
    updated_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    PRIMARY KEY (session_id, path),
    CONSTRAINT fk_workspace_files_session FOREIGN KEY (session_id) REFERENCES sessions(id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- added: persistent interpreters in a session's sandbox; cells are executions with their id.
CREATE TABLE IF NOT EXISTS interpreter_contexts (
    id VARCHAR(64) PRIMARY KEY,
    session_id VARCHAR(64) NOT NULL,
    language VARCHAR(16) NOT NULL,
    generation INT NOT NULL DEFAULT 1,   -- a restart asks for the next: the next cell starts a fresh interpreter
    container_id VARCHAR(128) NULL,      -- the sandbox its interpreter lives in, bound by its first cell
    created_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    updated_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
    INDEX idx_session (session_id),
    CONSTRAINT fk_interpreter_contexts_session FOREIGN KEY (session_id) REFERENCES sessions(id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- added: every attempt to deliver an execution's webhook (GET /v1/executions/:id/deliveries).
CREATE TABLE IF NOT EXISTS webhook_deliveries (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    execution_id VARCHAR(64) NOT NULL,
    attempt INT NOT NULL,
    url VARCHAR(2048) NOT NULL,
    status_code INT NULL,                -- the receiver's answer; NULL when none came
    error VARCHAR(1024) NULL,
    duration_ms INT NOT NULL,
    created_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    INDEX idx_execution (execution_id, id),
    CONSTRAINT fk_webhook_deliveries_execution FOREIGN KEY (execution_id) REFERENCES executions(id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- added: one row per runtime agent; staleness is judged on this database's clock (NOW(3)).
CREATE TABLE IF NOT EXISTS runtime_nodes (
    id VARCHAR(128) PRIMARY KEY,
    hostname VARCHAR(255) NOT NULL,
    version VARCHAR(64) NOT NULL,
    status ENUM('online', 'draining', 'offline') NOT NULL,
    capacity INT NOT NULL,
    running INT NOT NULL DEFAULT 0,
    memory_bytes BIGINT NOT NULL DEFAULT 0,       -- added: the sandboxes' memory budget (AGENT_MEMORY_BYTES)
    cpu_nanos BIGINT NOT NULL DEFAULT 0,          -- added: the sandboxes' CPU budget, nano-CPUs (AGENT_CPUS)
    free_memory_bytes BIGINT NOT NULL DEFAULT 0,  -- added: budget not held by a session or the warm pool
    free_cpu_nanos BIGINT NOT NULL DEFAULT 0,
    free_sessions INT NOT NULL DEFAULT 0,         -- added: sessions of the default size that still fit
    labels JSON,
    last_heartbeat_at TIMESTAMP(3) NULL,  -- ms: the reaper judges staleness to the ms (docs/architecture.md, fencing)
    started_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    INDEX idx_status (status),
    INDEX idx_last_heartbeat (last_heartbeat_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- added: API keys. Only the sha256 of a key is stored; its first characters (prefix) identify it in lists.
CREATE TABLE IF NOT EXISTS api_keys (
    id VARCHAR(64) PRIMARY KEY,
    prefix VARCHAR(16) NOT NULL,
    key_hash CHAR(64) NOT NULL,
    name VARCHAR(128) NOT NULL,
    scope ENUM('admin', 'tenant') NOT NULL,  -- admin: node, key and audit operations, every tenant's sessions
    tenant VARCHAR(64) NOT NULL,         -- owner of the sessions the key creates
    created_by VARCHAR(64) NULL,         -- key id that created it; NULL from the CLI
    expires_at TIMESTAMP NULL,
    revoked_at TIMESTAMP NULL,
    last_used_at TIMESTAMP NULL,
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    UNIQUE INDEX uq_api_keys_hash (key_hash),
    INDEX idx_tenant (tenant)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- added: who created, terminated, drained what. Append-only: the triggers refuse UPDATE and DELETE.
CREATE TABLE IF NOT EXISTS audit_events (
    id BIGINT AUTO_INCREMENT PRIMARY KEY,
    occurred_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    actor VARCHAR(64) NOT NULL,          -- api key id, or cli / reaper
    tenant VARCHAR(64) NULL,             -- the actor's tenant
    action VARCHAR(64) NOT NULL,         -- session.create, session.terminate, session.update, session.expire, node.drain, node.undrain, api_key.create, api_key.revoke, audit.export, audit.prune
    target_type VARCHAR(32) NOT NULL,
    target_id VARCHAR(128) NOT NULL,
    outcome VARCHAR(16) NOT NULL,        -- ok, or why not
    request_id VARCHAR(64) NULL,
    ip VARCHAR(64) NULL,
    detail JSON NULL,                    -- ids and names only: never code, env values or keys
    INDEX idx_occurred (occurred_at),
    INDEX idx_target (target_type, target_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TRIGGER IF NOT EXISTS audit_events_no_update BEFORE UPDATE ON audit_events FOR EACH ROW
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'audit_events is append-only';
-- Deletes only by the admin prune (POST /v1/audit-events/prune), which sets @sandbox_audit_prune = 1 on
-- its own connection for its DELETEs and records the prune as an audit event itself.
DELIMITER //
CREATE OR REPLACE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events FOR EACH ROW
BEGIN
    IF @sandbox_audit_prune IS NULL OR @sandbox_audit_prune <> 1 THEN
        SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'audit_events is append-only';
    END IF;
END//
DELIMITER ;

INSERT INTO templates (id, name, image, base_image, language, pre_installed_packages, default_resources_cpu, default_resources_memory, default_resources_disk, limits) VALUES
('python-basic', 'Python Basic', 'sandbox-python:3.11-basic', 'python:3.11-slim', 'python', JSON_ARRAY(), '1', '512Mi', '1Gi',
  JSON_OBJECT('max_cpu', '2', 'max_memory', '2Gi', 'max_disk', '4Gi', 'pids', 128, 'timeout_default_seconds', 30, 'timeout_max_seconds', 300, 'network', FALSE)),
('python-datascience', 'Python Data Science', 'sandbox-python:3.11-datascience', 'python:3.11-slim', 'python', JSON_ARRAY('numpy', 'pandas', 'matplotlib'), '2', '2Gi', '5Gi',
  JSON_OBJECT('max_cpu', '4', 'max_memory', '8Gi', 'max_disk', '10Gi', 'pids', 256, 'timeout_default_seconds', 60, 'timeout_max_seconds', 600, 'network', FALSE)),
('nodejs-basic', 'Node.js Basic', 'sandbox-nodejs:20-basic', 'node:20-alpine', 'javascript', JSON_ARRAY(), '1', '512Mi', '1Gi',
  JSON_OBJECT('max_cpu', '2', 'max_memory', '2Gi', 'max_disk', '4Gi', 'pids', 128, 'timeout_default_seconds', 30, 'timeout_max_seconds', 300, 'network', FALSE)),
('gcc', 'C and C++ (GCC)', 'sandbox-gcc:12', 'gcc:12-bookworm', 'c', JSON_ARRAY(), '1', '512Mi', '1Gi',
  JSON_OBJECT('max_cpu', '2', 'max_memory', '2Gi', 'max_disk', '4Gi', 'pids', 128, 'timeout_default_seconds', 30, 'timeout_max_seconds', 300, 'network', FALSE))
ON DUPLICATE KEY UPDATE name=VALUES(name);

-- added: the schema's version, in TypeORM's own table and in the shape its migration runner makes it:
-- this file is the schema after every migration listed (libs/persistence schema-migrations.ts), which
-- persistence/schema-migrations.integration-spec.ts proves. A new migration adds its row here.
CREATE TABLE IF NOT EXISTS migrations (
    id INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    timestamp BIGINT NOT NULL,
    name VARCHAR(255) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
INSERT INTO migrations (timestamp, name) VALUES
(1796212800000, 'WorkspaceManifest1796212800000'),
(1796212860000, 'AuditPrune1796212860000'),
(1796212920000, 'HeartbeatMilliseconds1796212920000'),
(1796212980000, 'RetentionIndexes1796212980000'),
(1796213040000, 'NodeBudget1796213040000'),
(1796213100000, 'SessionPlacement1796213100000'),
(1796213160000, 'ExecutionCancel1796213160000'),
(1796213220000, 'ExecutionInputs1796213220000'),
(1796213280000, 'ExecutionFiles1796213280000'),
(1796213340000, 'InterpreterContexts1796213340000'),
(1796213400000, 'TestCases1796213400000'),
(1796213460000, 'TemplateRuntimes1796213460000'),
(1796213520000, 'Webhooks1796213520000');
