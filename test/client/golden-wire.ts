// Exact messages from the golden Device Connect captures (/work/shared/fixtures/device-connect,
// real Python 0.2.5 runtime, registry and agent-tools on nats-server 2.9.10), copied here so the
// client tests replay them without depending on a path outside the repository. Each entry names its
// capture file and 1-based line; golden-wire.test.ts checks the copy against the originals when present.
// Data only: no helpers, no I/O.

export interface CapturedMessage {
  readonly file: 'wire-infra.jsonl' | 'wire-d2d.jsonl';
  readonly line: number;
  readonly subject: string;
  readonly reply: string | null;
  /** The body exactly as captured (Python `json.dumps` spacing). */
  readonly data: string;
}

export const golden = {
  /** agent-tools asks the registry for the first page. */
  listDevicesRequest: {
    file: 'wire-infra.jsonl',
    line: 10,
    subject: "device-connect.default.discovery",
    reply: "_INBOX.bY09pCunolGiLqzfYonqBe.bY09pCunolGiLqzfYonqGT9f29",
    data: "{\"jsonrpc\": \"2.0\", \"id\": \"rpc-85b787c1c50b\", \"method\": \"discovery/listDevices\", \"params\": {\"offset\": 0, \"limit\": 100}}",
  },
  /** registry reply: rng-001 (labels null) and who-001 (labels with location), last page. */
  listDevicesReply: {
    file: 'wire-infra.jsonl',
    line: 101,
    subject: "_INBOX.00EqQcyKhvblIKXoBtsyrl.00EqQcyKhvblIKXoBtsyud1003",
    reply: null,
    data: "{\"jsonrpc\": \"2.0\", \"id\": \"rpc-382736fd30b6\", \"result\": {\"devices\": [{\"device_id\": \"rng-001\", \"device_ttl\": 15, \"capabilities\": {\"description\": \"Simulated number generator device.\", \"functions\": [{\"name\": \"generate\", \"description\": \"Generate a random number in [min, max].\", \"parameters\": {\"type\": \"object\", \"properties\": {\"min\": {\"type\": \"number\", \"default\": 0}, \"max\": {\"type\": \"number\", \"default\": 100}}, \"required\": []}, \"labels\": null, \"tags\": []}, {\"name\": \"get_stats\", \"description\": \"Return generation statistics.\", \"parameters\": {\"type\": \"object\", \"properties\": {}, \"required\": []}, \"labels\": null, \"tags\": []}], \"events\": [{\"name\": \"number_generated\", \"description\": \"A new number was generated.\", \"payload_schema\": {\"type\": \"object\", \"properties\": {\"value\": {\"type\": \"number\"}, \"label\": {\"type\": \"string\"}}, \"required\": [\"value\", \"label\"]}, \"labels\": null, \"tags\": []}], \"labels\": null}, \"identity\": {\"arch\": \"arm64\", \"host_cpu\": \"generic\", \"dram_mb\": 0, \"device_type\": \"number_generator\", \"manufacturer\": \"Device Connect\", \"model\": \"RNG-500\", \"serial_number\": null, \"firmware_version\": \"1.0.0\", \"capabilities\": []}, \"status\": {\"ts\": \"2026-11-24T15:53:45Z\", \"location\": \"simulator\", \"busy_score\": 0.0, \"availability\": \"available\", \"task_stack\": null, \"battery\": null, \"online\": true}, \"registry\": {\"device_registration_id\": \"097c319a-6681-4267-af36-8fee8e3b6dbb\", \"registered_at\": \"2026-11-24T15:53:45Z\"}}, {\"device_id\": \"who-001\", \"device_ttl\": 15, \"capabilities\": {\"description\": \"Caller-aware test device.\", \"functions\": [{\"name\": \"fail\", \"description\": \"Always raises.\", \"parameters\": {\"type\": \"object\", \"properties\": {}, \"required\": []}, \"labels\": null, \"tags\": []}, {\"name\": \"setLevel\", \"description\": \"Set the output level.\", \"parameters\": {\"type\": \"object\", \"properties\": {\"level\": {\"type\": \"integer\", \"description\": \"Target level, 0-10\"}, \"mode\": {\"type\": \"string\", \"description\": \"Operating mode ('auto' or 'manual')\", \"default\": \"auto\"}, \"tags\": {\"type\": \"array\", \"items\": {\"type\": \"string\"}, \"description\": \"Optional tags spanning two lines\", \"default\": null}, \"extra\": {\"type\": \"object\", \"default\": null}, \"ratio\": {\"type\": \"number\", \"default\": 0.5}, \"enabled\": {\"type\": \"boolean\", \"default\": true}}, \"required\": [\"level\"]}, \"labels\": {\"direction\": \"write\", \"safety\": \"critical\"}, \"tags\": []}, {\"name\": \"whoami\", \"description\": \"Return the caller identity as seen by the handler.\", \"parameters\": {\"type\": \"object\", \"properties\": {}, \"required\": []}, \"labels\": {\"direction\": \"read\"}, \"tags\": []}], \"events\": [{\"name\": \"level_changed\", \"description\": \"Level changed.\", \"payload_schema\": {\"type\": \"object\", \"properties\": {\"level\": {\"type\": \"integer\", \"description\": \"new level\"}}, \"required\": [\"level\"]}, \"labels\": {\"modality\": \"state\"}, \"tags\": []}], \"labels\": {\"category\": \"test\", \"location\": \"lab/bench-1\"}}, \"identity\": {\"arch\": \"arm64\", \"host_cpu\": \"generic\", \"dram_mb\": 0, \"device_type\": \"caller_aware\", \"manufacturer\": \"Test\", \"model\": \"X\", \"serial_number\": \"SN1\", \"firmware_version\": null, \"capabilities\": []}, \"status\": {\"ts\": \"2026-11-24T15:54:53Z\", \"location\": \"lab\", \"busy_score\": 0.0, \"availability\": \"idle\", \"task_stack\": null, \"battery\": 80, \"online\": true}, \"registry\": {\"device_registration_id\": \"12ffe8b3-8a87-496f-bb4a-360865541732\", \"registered_at\": \"2026-11-24T15:54:53Z\"}}], \"next_offset\": null, \"total_matched\": 2}}",
  },
  /** agent-tools asks the registry for one device. */
  getDeviceRequest: {
    file: 'wire-infra.jsonl',
    line: 12,
    subject: "device-connect.default.discovery",
    reply: "_INBOX.bY09pCunolGiLqzfYonqBe.bY09pCunolGiLqzfYonqLIa723",
    data: "{\"jsonrpc\": \"2.0\", \"id\": \"rpc-84a9f9aafecb\", \"method\": \"discovery/getDevice\", \"params\": {\"device_id\": \"rng-001\"}}",
  },
  /** registry reply to getDevice: the rng-001 record. */
  getDeviceReply: {
    file: 'wire-infra.jsonl',
    line: 13,
    subject: "_INBOX.bY09pCunolGiLqzfYonqBe.bY09pCunolGiLqzfYonqLIa723",
    reply: null,
    data: "{\"jsonrpc\": \"2.0\", \"id\": \"rpc-84a9f9aafecb\", \"result\": {\"device\": {\"device_id\": \"rng-001\", \"device_ttl\": 15, \"capabilities\": {\"description\": \"Simulated number generator device.\", \"functions\": [{\"name\": \"generate\", \"description\": \"Generate a random number in [min, max].\", \"parameters\": {\"type\": \"object\", \"properties\": {\"min\": {\"type\": \"number\", \"default\": 0}, \"max\": {\"type\": \"number\", \"default\": 100}}, \"required\": []}, \"labels\": null, \"tags\": []}, {\"name\": \"get_stats\", \"description\": \"Return generation statistics.\", \"parameters\": {\"type\": \"object\", \"properties\": {}, \"required\": []}, \"labels\": null, \"tags\": []}], \"events\": [{\"name\": \"number_generated\", \"description\": \"A new number was generated.\", \"payload_schema\": {\"type\": \"object\", \"properties\": {\"value\": {\"type\": \"number\"}, \"label\": {\"type\": \"string\"}}, \"required\": [\"value\", \"label\"]}, \"labels\": null, \"tags\": []}], \"labels\": null}, \"identity\": {\"arch\": \"arm64\", \"host_cpu\": \"generic\", \"dram_mb\": 0, \"device_type\": \"number_generator\", \"manufacturer\": \"Device Connect\", \"model\": \"RNG-500\", \"serial_number\": null, \"firmware_version\": \"1.0.0\", \"capabilities\": []}, \"status\": {\"ts\": \"2026-11-24T15:53:45Z\", \"location\": \"simulator\", \"busy_score\": 0.0, \"availability\": \"available\", \"task_stack\": null, \"battery\": null, \"online\": true}, \"registry\": {\"device_registration_id\": \"097c319a-6681-4267-af36-8fee8e3b6dbb\", \"registered_at\": \"2026-11-24T15:53:45Z\"}}}}",
  },
  /** agent-tools invoke_device: generate(min=1,max=2). */
  generateRequest: {
    file: 'wire-infra.jsonl',
    line: 14,
    subject: "device-connect.default.rng-001.cmd",
    reply: "_INBOX.bY09pCunolGiLqzfYonqBe.bY09pCunolGiLqzfYonqQ7bba8",
    data: "{\"jsonrpc\": \"2.0\", \"id\": \"d2d-1e7f96933d1d\", \"method\": \"generate\", \"params\": {\"min\": 1, \"max\": 2}}",
  },
  /** device success reply. */
  generateReply: {
    file: 'wire-infra.jsonl',
    line: 15,
    subject: "_INBOX.bY09pCunolGiLqzfYonqBe.bY09pCunolGiLqzfYonqQ7bba8",
    reply: null,
    data: "{\"jsonrpc\": \"2.0\", \"id\": \"d2d-1e7f96933d1d\", \"result\": {\"value\": 1.02, \"total_generated\": 4}}",
  },
  /** event emitted by that call. */
  numberGeneratedEvent: {
    file: 'wire-infra.jsonl',
    line: 16,
    subject: "device-connect.default.rng-001.event.number_generated",
    reply: null,
    data: "{\"jsonrpc\": \"2.0\", \"method\": \"number_generated\", \"params\": {\"value\": 1.02, \"label\": \"on_demand\", \"event_id\": \"35d04fbc\", \"ts\": \"2026-11-24T15:53:58Z\", \"_trace_id\": \"32a9fa6e1420407e\"}}",
  },
  /** invoke of a function the device does not have. */
  unknownMethodRequest: {
    file: 'wire-infra.jsonl',
    line: 17,
    subject: "device-connect.default.rng-001.cmd",
    reply: "_INBOX.bY09pCunolGiLqzfYonqBe.bY09pCunolGiLqzfYonqUw802a",
    data: "{\"jsonrpc\": \"2.0\", \"id\": \"d2d-5d293b9d04e4\", \"method\": \"nope\", \"params\": {}}",
  },
  /** -32601 Unknown method. */
  unknownMethodReply: {
    file: 'wire-infra.jsonl',
    line: 18,
    subject: "_INBOX.bY09pCunolGiLqzfYonqBe.bY09pCunolGiLqzfYonqUw802a",
    reply: null,
    data: "{\"jsonrpc\": \"2.0\", \"id\": \"d2d-5d293b9d04e4\", \"error\": {\"code\": -32601, \"message\": \"Unknown method: nope\"}}",
  },
  /** invoke with an unexpected keyword argument. */
  handlerErrorRequest: {
    file: 'wire-infra.jsonl',
    line: 19,
    subject: "device-connect.default.rng-001.cmd",
    reply: "_INBOX.bY09pCunolGiLqzfYonqBe.bY09pCunolGiLqzfYonqZla0a0",
    data: "{\"jsonrpc\": \"2.0\", \"id\": \"d2d-6c5da3cc28fe\", \"method\": \"generate\", \"params\": {\"bogus\": 1}}",
  },
  /** -32000 Error invoking. */
  handlerErrorReply: {
    file: 'wire-infra.jsonl',
    line: 20,
    subject: "_INBOX.bY09pCunolGiLqzfYonqBe.bY09pCunolGiLqzfYonqZla0a0",
    reply: null,
    data: "{\"jsonrpc\": \"2.0\", \"id\": \"d2d-6c5da3cc28fe\", \"error\": {\"code\": -32000, \"message\": \"Error invoking generate: NumberGeneratorDriver.generate() got an unexpected keyword argument 'bogus'\"}}",
  },
  /** device-to-device invoke_remote with _dc_meta. */
  whoamiWithDcMetaRequest: {
    file: 'wire-infra.jsonl',
    line: 58,
    subject: "device-connect.default.who-001.cmd",
    reply: "_INBOX.W11HDmjorCyPBgKVe7Hwjl.W11HDmjorCyPBgKVe7Hwn52f7f",
    data: "{\"jsonrpc\": \"2.0\", \"id\": \"d2d-d2b34161548b\", \"method\": \"whoami\", \"params\": {\"_dc_meta\": {\"source_device\": \"ctl-001\", \"source_type\": \"device\", \"trace_id\": \"60ea8d5c7a804439\"}}}",
  },
  /** reply naming the caller. */
  whoamiWithDcMetaReply: {
    file: 'wire-infra.jsonl',
    line: 59,
    subject: "_INBOX.W11HDmjorCyPBgKVe7Hwjl.W11HDmjorCyPBgKVe7Hwn52f7f",
    reply: null,
    data: "{\"jsonrpc\": \"2.0\", \"id\": \"d2d-d2b34161548b\", \"result\": {\"caller\": \"ctl-001\"}}",
  },
  /** event of who-001. */
  levelChangedEvent: {
    file: 'wire-infra.jsonl',
    line: 83,
    subject: "device-connect.default.who-001.event.level_changed",
    reply: null,
    data: "{\"jsonrpc\": \"2.0\", \"method\": \"level_changed\", \"params\": {\"level\": 3, \"event_id\": \"1eccacbd\", \"ts\": \"2026-11-24T15:55:10Z\", \"_trace_id\": \"637825fbd9bd4e4d\"}}",
  },
  /** agent-tools broadcast to who-001. */
  broadcastEnvelope: {
    file: 'wire-infra.jsonl',
    line: 105,
    subject: "device-connect.default.broadcast",
    reply: null,
    data: "{\"correlation_id\": \"br-d68ef7b538d6\", \"function\": \"whoami\", \"params\": {}, \"targets\": [\"who-001\"]}",
  },
  /** who-001 async reply. */
  broadcastAsyncReply: {
    file: 'wire-infra.jsonl',
    line: 106,
    subject: "device-connect.default.who-001.event.async_reply.br-d68ef7b538d6",
    reply: null,
    data: "{\"correlation_id\": \"br-d68ef7b538d6\", \"device_id\": \"who-001\", \"success\": true, \"result\": {\"caller\": null}, \"actually_fired_at\": 1795535720.0609677}",
  },
  /** MCP bridge invoke of a device nobody serves (no responders). */
  ghostRequest: {
    file: 'wire-d2d.jsonl',
    line: 113,
    subject: "device-connect.default.ghost-999.cmd",
    reply: "_INBOX.kEiMyBaUY32nl6F28QA039.kEiMyBaUY32nl6F28QA0KFb878",
    data: "{\"jsonrpc\": \"2.0\", \"method\": \"x\", \"params\": {}, \"id\": \"47f41d6a-3c2d-4730-b3b9-c90aeec3f2bd\"}",
  },
  /** D2D presence announcement (tenant lab). */
  whoD2dPresence: {
    file: 'wire-d2d.jsonl',
    line: 2,
    subject: "device-connect.lab.who-d2d.presence",
    reply: null,
    data: "{\"device_id\": \"who-d2d\", \"capabilities\": {\"description\": \"Caller-aware test device.\", \"functions\": [{\"name\": \"fail\", \"description\": \"Always raises.\", \"parameters\": {\"type\": \"object\", \"properties\": {}, \"required\": []}, \"labels\": null, \"tags\": []}, {\"name\": \"setLevel\", \"description\": \"Set the output level.\", \"parameters\": {\"type\": \"object\", \"properties\": {\"level\": {\"type\": \"integer\", \"description\": \"Target level, 0-10\"}, \"mode\": {\"type\": \"string\", \"description\": \"Operating mode ('auto' or 'manual')\", \"default\": \"auto\"}, \"tags\": {\"type\": \"array\", \"items\": {\"type\": \"string\"}, \"description\": \"Optional tags spanning two lines\", \"default\": null}, \"extra\": {\"type\": \"object\", \"default\": null}, \"ratio\": {\"type\": \"number\", \"default\": 0.5}, \"enabled\": {\"type\": \"boolean\", \"default\": true}}, \"required\": [\"level\"]}, \"labels\": {\"direction\": \"write\", \"safety\": \"critical\"}, \"tags\": []}, {\"name\": \"whoami\", \"description\": \"Return the caller identity as seen by the handler.\", \"parameters\": {\"type\": \"object\", \"properties\": {}, \"required\": []}, \"labels\": {\"direction\": \"read\"}, \"tags\": []}], \"events\": [{\"name\": \"level_changed\", \"description\": \"Level changed.\", \"payload_schema\": {\"type\": \"object\", \"properties\": {\"level\": {\"type\": \"integer\", \"description\": \"new level\"}}, \"required\": [\"level\"]}, \"labels\": {\"modality\": \"state\"}, \"tags\": []}], \"labels\": {\"category\": \"test\", \"location\": \"lab/bench-1\"}}, \"identity\": {\"device_type\": \"caller_aware\", \"manufacturer\": \"Test\", \"model\": \"X\", \"serial_number\": \"SN1\"}, \"status\": {\"ts\": \"2026-11-24T15:56:10Z\", \"location\": \"lab\", \"availability\": \"idle\", \"busy_score\": 0.0, \"battery\": 80, \"online\": true}, \"ts\": 1795535770.0172143, \"d2d\": true}",
  },
  /** D2D client probe. */
  discoveryProbe: {
    file: 'wire-d2d.jsonl',
    line: 19,
    subject: "device-connect.lab.discovery.probe",
    reply: null,
    data: "{\"probe\": true, \"ts\": 1795535775.9563832}",
  },
  /** graceful departure. */
  whoD2dDeparting: {
    file: 'wire-d2d.jsonl',
    line: 56,
    subject: "device-connect.lab.who-d2d.presence",
    reply: null,
    data: "{\"device_id\": \"who-d2d\", \"tenant\": \"lab\", \"departing\": true, \"ts\": 1795535796.0995564}",
  },
} as const satisfies Record<string, CapturedMessage>;
