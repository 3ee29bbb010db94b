import assert from "node:assert/strict";
import {
  decodeBackendData,
  encodeBackendData,
  flannelAnnotationKeys,
  flannelAnnotations,
  normalizeAnnotationPrefix,
} from "../../src/kube/annotations.ts";

Deno.test("annotation prefix: normalised as flanneld does", () => {
  const cases: [string, string][] = [
    ["flannel.alpha.coreos.com", "flannel.alpha.coreos.com/"],
    ["flannel.alpha.coreos.com/", "flannel.alpha.coreos.com/"],
    ["example.com/foo", "example.com/foo-"],
    ["example.com/foo-", "example.com/foo-"],
    ["example.com/foo_bar", "example.com/foo_bar-"],
    ["my-org.example.com", "my-org.example.com/"],
    // Like flanneld's unanchored check, only the end must match the format.
    ["Upper.example.com", "Upper.example.com/"],
  ];
  for (const [input, expected] of cases) {
    assert.deepEqual(normalizeAnnotationPrefix(input), { ok: expected }, input);
  }
});

Deno.test("annotation prefix: rejected when flanneld rejects it", () => {
  for (const input of ["example.com/a/b", "a/b/", "nodots", "nodots/x", "", "example.com/Foo"]) {
    const result = normalizeAnnotationPrefix(input);
    assert.ok("error" in result, `${JSON.stringify(input)} should be rejected`);
  }
  assert.match(
    (normalizeAnnotationPrefix("a.b/c/d") as { error: string }).error,
    /more than one "\/"/,
  );
});

Deno.test("annotation keys: every key under the normalised prefix", () => {
  const keys = flannelAnnotationKeys();
  assert.ok("ok" in keys);
  assert.deepEqual(keys.ok, {
    prefix: "flannel.alpha.coreos.com/",
    kubeSubnetManager: "flannel.alpha.coreos.com/kube-subnet-manager",
    backendType: "flannel.alpha.coreos.com/backend-type",
    backendData: "flannel.alpha.coreos.com/backend-data",
    backendV6Data: "flannel.alpha.coreos.com/backend-v6-data",
    publicIP: "flannel.alpha.coreos.com/public-ip",
    publicIPv6: "flannel.alpha.coreos.com/public-ipv6",
    publicIPOverwrite: "flannel.alpha.coreos.com/public-ip-overwrite",
    publicIPv6Overwrite: "flannel.alpha.coreos.com/public-ipv6-overwrite",
    nodePublicIP: "flannel.alpha.coreos.com/node-public-ip",
    nodePublicIPv6: "flannel.alpha.coreos.com/node-public-ipv6",
  });
  const custom = flannelAnnotationKeys("example.com/foo");
  assert.ok("ok" in custom);
  assert.equal(custom.ok.backendData, "example.com/foo-backend-data");
  assert.ok("error" in flannelAnnotationKeys("x/y/z"));
});

Deno.test("backend-data: encoded byte for byte as flanneld writes it", () => {
  assert.equal(
    encodeBackendData(1, "aa:bb:cc:dd:ee:ff"),
    '{"VNI":1,"VtepMAC":"aa:bb:cc:dd:ee:ff"}',
  );
  assert.equal(
    encodeBackendData(4096, "0A-1B-2C-3D-4E-5F"),
    '{"VNI":4096,"VtepMAC":"0a:1b:2c:3d:4e:5f"}',
  );
  assert.throws(() => encodeBackendData(1.5, "aa:bb:cc:dd:ee:ff"), RangeError);
  assert.throws(() => encodeBackendData(1 << 24, "aa:bb:cc:dd:ee:ff"), RangeError);
  assert.throws(() => encodeBackendData(1, "01:00:5e:00:00:01"), RangeError, "multicast");
  assert.throws(() => encodeBackendData(1, "not a mac"), RangeError);
});

Deno.test("backend-data: decoded as JSON, tolerant as Go's decoder", () => {
  const cases: [string, { vni?: number; mac: string }][] = [
    ['{"VNI":1,"VtepMAC":"aa:bb:cc:dd:ee:ff"}', { vni: 1, mac: "aa:bb:cc:dd:ee:ff" }],
    ['{"VtepMAC":"aa:bb:cc:dd:ee:ff"}', { mac: "aa:bb:cc:dd:ee:ff" }],
    ['{ "VtepMAC" : "AA:BB:CC:DD:EE:FF" , "VNI" : 7 }', { vni: 7, mac: "aa:bb:cc:dd:ee:ff" }],
    ['{"vni":2,"vtepmac":"aa:bb:cc:dd:ee:ff"}', { vni: 2, mac: "aa:bb:cc:dd:ee:ff" }],
    ['{"VNI":null,"VtepMAC":"aa:bb:cc:dd:ee:ff","Extra":"x:\\"y"}', { mac: "aa:bb:cc:dd:ee:ff" }],
    ['{"VtepMAC":"aa-bb-cc-dd-ee-ff"}', { mac: "aa:bb:cc:dd:ee:ff" }],
    ['{"VtepMAC":"00:00:00:00:00:01","vtepMAC":"02:00:00:00:00:02"}', {
      mac: "02:00:00:00:00:02",
    }],
  ];
  for (const [text, expected] of cases) {
    assert.deepEqual(decodeBackendData(text), { ok: expected }, text);
  }
});

Deno.test("backend-data: malformed input is an error value naming the problem", () => {
  const cases: [string, RegExp][] = [
    ["", /not JSON/],
    ['{"VtepMAC":"aa:bb:cc:dd:ee:ff"', /not JSON/],
    ["null", /not a JSON object/],
    ['["aa:bb:cc:dd:ee:ff"]', /not a JSON object/],
    ['{"VNI":1}', /no VtepMAC/],
    ['{"VNI":1,"VtepMAC":null}', /not a string/],
    ['{"VNI":1,"VtepMAC":""}', /not a MAC/],
    ['{"VNI":1,"VtepMAC":"aa:bb:cc:dd:ee"}', /not a MAC/],
    ['{"VNI":1,"VtepMAC":"aa:bb:cc:dd:ee:ff:00:11"}', /not a MAC/],
    ['{"VNI":1,"VtepMAC":"01:00:5e:00:00:01"}', /multicast or all zero/],
    ['{"VNI":1,"VtepMAC":"ff:ff:ff:ff:ff:ff"}', /multicast or all zero/],
    ['{"VNI":1,"VtepMAC":"00:00:00:00:00:00"}', /multicast or all zero/],
    ['{"VNI":"1","VtepMAC":"aa:bb:cc:dd:ee:ff"}', /VNI is not an unsigned integer/],
    ['{"VNI":-1,"VtepMAC":"aa:bb:cc:dd:ee:ff"}', /VNI is not an unsigned integer/],
    ['{"VNI":1.5,"VtepMAC":"aa:bb:cc:dd:ee:ff"}', /VNI is not an unsigned integer/],
  ];
  for (const [text, message] of cases) {
    const result = decodeBackendData(text);
    assert.ok("error" in result, `${text} should be rejected`);
    assert.match(result.error, message, text);
  }
});

Deno.test("own annotations: flanneld's four, with public-ip-overwrite taking precedence", () => {
  const keys = flannelAnnotationKeys();
  assert.ok("ok" in keys);
  const lease = { vni: 1, v4: { mac: "0a:00:00:00:00:01", publicIP: "192.168.0.1" } };
  assert.deepEqual(flannelAnnotations(keys.ok, lease), {
    "flannel.alpha.coreos.com/kube-subnet-manager": "true",
    "flannel.alpha.coreos.com/backend-type": "vxlan",
    "flannel.alpha.coreos.com/backend-data": '{"VNI":1,"VtepMAC":"0a:00:00:00:00:01"}',
    "flannel.alpha.coreos.com/public-ip": "192.168.0.1",
  });
  const behindNat = flannelAnnotations(keys.ok, lease, {
    "flannel.alpha.coreos.com/public-ip-overwrite": "203.0.113.9",
  });
  assert.equal(behindNat["flannel.alpha.coreos.com/public-ip"], "203.0.113.9");
});

Deno.test("own annotations: the IPv6 twins for a dual-stack or IPv6-only overlay, with public-ipv6-overwrite", () => {
  const keys = flannelAnnotationKeys();
  assert.ok("ok" in keys);
  const v6 = { mac: "0a:00:00:00:06:01", publicIP: "fd00:50::11" };
  assert.deepEqual(flannelAnnotations(keys.ok, { vni: 1, v6 }), {
    "flannel.alpha.coreos.com/kube-subnet-manager": "true",
    "flannel.alpha.coreos.com/backend-type": "vxlan",
    "flannel.alpha.coreos.com/backend-v6-data": '{"VNI":1,"VtepMAC":"0a:00:00:00:06:01"}',
    "flannel.alpha.coreos.com/public-ipv6": "fd00:50::11",
  });
  const dual = flannelAnnotations(
    keys.ok,
    { vni: 1, v4: { mac: "0a:00:00:00:00:01", publicIP: "192.168.0.1" }, v6 },
    { "flannel.alpha.coreos.com/public-ipv6-overwrite": "2001:db8::9" },
  );
  assert.equal(dual["flannel.alpha.coreos.com/public-ip"], "192.168.0.1");
  assert.equal(dual["flannel.alpha.coreos.com/public-ipv6"], "2001:db8::9");
  assert.equal(Object.keys(dual).length, 6);
});
