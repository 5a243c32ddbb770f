#!/usr/bin/env node
'use strict';
// Makes the broker's topics match config/kafka-topics.json: creates missing
// topics and brings retention.ms back in line. Used by `scripts/stack up` as
// the last Kafka health step (it needs working metadata and partition
// leaders), and usable on its own against any broker.
//
//   node ensure-topics.js [--brokers host:port[,..]] [--config file]
//                         [--timeout seconds] [--check]
//
// --check only verifies that the broker answers and every topic exists
// (exit 1 otherwise); nothing is changed.
// CLINIC_KAFKA_PARTITIONS, when set, overrides every topic's partition count.

const fs = require('fs');
const path = require('path');

const { Kafka, logLevel, ConfigResourceTypes } = require('kafkajs');

// kafkajs' ConfigSource value for a per-topic override.
const TOPIC_CONFIG_SOURCE = 1;

function parseArgs(argv) {
  const opts = {
    brokers: process.env.KAFKA_BROKERS || '127.0.0.1:19092',
    config: path.resolve(__dirname, '../../../config/kafka-topics.json'),
    timeout: 60,
    check: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) fail(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--brokers') opts.brokers = next();
    else if (a === '--config') opts.config = next();
    else if (a === '--timeout') opts.timeout = Number(next());
    else if (a === '--check') opts.check = true;
    else if (a === '-h' || a === '--help') {
      process.stdout.write('usage: ensure-topics.js [--brokers h:p,...] [--config file] [--timeout s] [--check]\n');
      process.exit(0);
    } else fail(`unknown argument: ${a}`);
  }
  if (!Number.isFinite(opts.timeout) || opts.timeout <= 0) fail('--timeout must be a positive number of seconds');
  return opts;
}

function fail(msg) {
  process.stderr.write(`ensure-topics: error: ${msg}\n`);
  process.exit(1);
}

function say(msg) {
  process.stdout.write(`ensure-topics: ${msg}\n`);
}

function loadTopics(file) {
  let raw;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    fail(`cannot read topic config ${file}: ${err.message}`);
  }
  if (!Array.isArray(raw) || raw.length === 0) fail(`${file} must be a non-empty JSON array`);

  let override;
  const env = process.env.CLINIC_KAFKA_PARTITIONS;
  if (env !== undefined && env !== '') {
    override = Number(env);
    if (!Number.isInteger(override) || override < 1) fail(`CLINIC_KAFKA_PARTITIONS must be a positive integer, got '${env}'`);
  }

  const seen = new Set();
  return raw.map((t, i) => {
    const where = `${file}[${i}]`;
    if (!t || typeof t.name !== 'string' || !/^[a-zA-Z0-9._-]{1,249}$/.test(t.name)) fail(`${where}: invalid or missing "name"`);
    if (seen.has(t.name)) fail(`${where}: duplicate topic ${t.name}`);
    seen.add(t.name);
    if (!Number.isInteger(t.partitions) || t.partitions < 1) fail(`${where}: "partitions" must be a positive integer`);
    if (!Number.isInteger(t.retentionMs) || t.retentionMs < -1) fail(`${where}: "retentionMs" must be an integer (ms, -1 = forever)`);
    return {
      name: t.name,
      partitions: override || t.partitions,
      retentionMs: String(t.retentionMs),
      replicationFactor: Number.isInteger(t.replicationFactor) ? t.replicationFactor : 1,
    };
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// kafkajs gives up after its own short retry budget; a broker that is still
// booting needs longer, so keep reconnecting until our deadline.
async function connectAdmin(brokers, deadline) {
  let lastErr;
  while (Date.now() < deadline) {
    const left = deadline - Date.now();
    const kafka = new Kafka({
      clientId: 'clinic-stack-ensure-topics',
      brokers,
      logLevel: logLevel.NOTHING,
      connectionTimeout: Math.min(3000, Math.max(500, left)),
      requestTimeout: Math.min(10000, Math.max(1000, left)),
      retry: { retries: 0 },
    });
    const admin = kafka.admin();
    try {
      await admin.connect();
      const cluster = await admin.describeCluster();
      if (!cluster.brokers.length || cluster.controller === null || cluster.controller < 0) {
        throw new Error('cluster has no brokers or no active controller yet');
      }
      return admin;
    } catch (err) {
      lastErr = err;
      await admin.disconnect().catch(() => {});
      await sleep(Math.min(1000, Math.max(0, deadline - Date.now())));
    }
  }
  throw new Error(`could not reach Kafka at ${brokers.join(',')}: ${lastErr ? lastErr.message : 'timed out'}`);
}

async function currentTopicConfigs(admin, names) {
  const res = await admin.describeConfigs({
    includeSynonyms: false,
    resources: names.map((name) => ({ type: ConfigResourceTypes.TOPIC, name })),
  });
  const out = new Map();
  for (const r of res.resources) {
    if (r.errorCode) throw new Error(`describeConfigs ${r.resourceName}: ${r.errorMessage || r.errorCode}`);
    out.set(r.resourceName, r.configEntries);
  }
  return out;
}

// The first consumer group on a fresh broker makes it create
// __consumer_offsets; until that has loaded every client gets "coordinator not
// available" errors and retries. Pay that once here instead of in the first
// test or service that joins a group.
async function warmGroupCoordinator(admin, deadline) {
  let lastErr;
  while (Date.now() < deadline) {
    try {
      await admin.describeGroups(['clinic-stack-warmup']);
      return;
    } catch (err) {
      lastErr = err;
      await sleep(300);
    }
  }
  throw new Error(`group coordinator not available: ${lastErr ? lastErr.message : 'timed out'}`);
}

async function run(opts) {
  const topics = loadTopics(opts.config);
  const brokers = opts.brokers.split(',').map((s) => s.trim()).filter(Boolean);
  const deadline = Date.now() + opts.timeout * 1000;

  const admin = await connectAdmin(brokers, deadline);
  try {
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((t) => !existing.has(t.name));

    if (opts.check) {
      if (missing.length) {
        say(`missing topics: ${missing.map((t) => t.name).join(', ')}`);
        return 1;
      }
      say(`ok: broker answers and all ${topics.length} topics exist`);
      return 0;
    }

    let created = 0;
    if (missing.length) {
      await admin.createTopics({
        waitForLeaders: true,
        timeout: Math.max(1000, deadline - Date.now()),
        topics: missing.map((t) => ({
          topic: t.name,
          numPartitions: t.partitions,
          replicationFactor: t.replicationFactor,
          configEntries: [{ name: 'retention.ms', value: t.retentionMs }],
        })),
      });
      for (const t of missing) say(`created ${t.name} (partitions=${t.partitions}, retention.ms=${t.retentionMs})`);
      created = missing.length;
    }

    const present = topics.filter((t) => existing.has(t.name));
    let altered = 0;
    if (present.length) {
      const configs = await currentTopicConfigs(admin, present.map((t) => t.name));
      const meta = await admin.fetchTopicMetadata({ topics: present.map((t) => t.name) });
      const partitionCount = new Map(meta.topics.map((m) => [m.name, m.partitions.length]));
      for (const t of present) {
        const entries = configs.get(t.name) || [];
        const retention = entries.find((e) => e.configName === 'retention.ms');
        if (!retention || retention.configValue !== t.retentionMs) {
          // AlterConfigs (non-incremental) replaces the whole set of topic
          // overrides, so carry the other overrides over unchanged.
          const keep = entries
            .filter((e) => e.configName !== 'retention.ms')
            .filter((e) => (e.configSource === undefined ? !e.isDefault : e.configSource === TOPIC_CONFIG_SOURCE))
            .map((e) => ({ name: e.configName, value: e.configValue }));
          await admin.alterConfigs({
            validateOnly: false,
            resources: [{
              type: ConfigResourceTypes.TOPIC,
              name: t.name,
              configEntries: [...keep, { name: 'retention.ms', value: t.retentionMs }],
            }],
          });
          say(`altered ${t.name}: retention.ms ${retention ? retention.configValue : '(unset)'} -> ${t.retentionMs}`);
          altered++;
        }
        const have = partitionCount.get(t.name);
        if (have !== undefined && have !== t.partitions) {
          // Not changed automatically: adding partitions remaps keys to
          // partitions and breaks per-key ordering for existing data.
          process.stderr.write(`ensure-topics: warning: ${t.name} has ${have} partitions, config says ${t.partitions} (left as is)\n`);
        }
      }
    }
    await warmGroupCoordinator(admin, deadline);
    say(`ready: ${topics.length} topics (created ${created}, altered ${altered}, unchanged ${topics.length - created - altered})`);
    return 0;
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

const opts = parseArgs(process.argv.slice(2));
// Last resort if a request hangs inside the client past our own deadline.
setTimeout(() => fail(`timed out after ${opts.timeout}s`), opts.timeout * 1000 + 5000).unref();
run(opts).then(
  (code) => process.exit(code),
  (err) => fail(err && err.message ? err.message : String(err)),
);
