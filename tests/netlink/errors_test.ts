import assert from "node:assert/strict";
import {
  errnoName,
  isExists,
  isNoDevice,
  isNotFound,
  isUnreachable,
  NetlinkError,
  NLE,
} from "../../src/netlink/errors.ts";

Deno.test("NetlinkError carries the kernel's errno, libnl's code and the operation", () => {
  const error = new NetlinkError({
    operation: "replace route 10.244.2.0/24 via 10.244.2.0 dev 5",
    libnlCode: NLE.FAILURE,
    libnlMessage: "Unspecific failure",
    kernelErrno: 101,
  });
  assert.ok(error instanceof Error);
  assert.equal(error.name, "NetlinkError");
  assert.equal(error.errno, 101);
  assert.equal(error.fromKernel, true);
  assert.equal(error.libnlCode, 1);
  assert.equal(error.operation, "replace route 10.244.2.0/24 via 10.244.2.0 dev 5");
  assert.equal(
    error.message,
    "replace route 10.244.2.0/24 via 10.244.2.0 dev 5: Unspecific failure " +
      "(kernel: ENETUNREACH, libnl code 1)",
  );
  assert.ok(isUnreachable(error));
  assert.ok(!isNotFound(error));
});

Deno.test("without a kernel errno, NetlinkError maps libnl's code to the nearest errno", () => {
  const mismatch = new NetlinkError({
    operation: "replace fdb",
    libnlCode: NLE.AF_MISMATCH,
    libnlMessage: "Address family mismatch",
  });
  assert.equal(mismatch.fromKernel, false);
  assert.equal(mismatch.errno, 22);
  assert.match(mismatch.message, /\(libnl: EINVAL, libnl code 15\)$/);
  const notFound = new NetlinkError({
    operation: "x",
    libnlCode: NLE.OBJ_NOTFOUND,
    libnlMessage: "Object not found",
  });
  assert.equal(notFound.errno, 2);
  assert.ok(isNotFound(notFound));
});

Deno.test("the predicates sort errnos the way the daemon needs them", () => {
  const withErrno = (kernelErrno: number) =>
    new NetlinkError({ operation: "x", libnlCode: NLE.FAILURE, libnlMessage: "m", kernelErrno });
  for (const errno of [2, 3, 19, 99]) assert.ok(isNotFound(withErrno(errno)), `${errno}`);
  assert.ok(isExists(withErrno(17)));
  assert.ok(isNoDevice(withErrno(19)));
  assert.ok(!isNoDevice(withErrno(2)));
  assert.ok(isUnreachable(withErrno(113)));
  for (const predicate of [isNotFound, isExists, isNoDevice, isUnreachable]) {
    assert.equal(predicate(new Error("plain")), false);
    assert.equal(predicate(undefined), false);
  }
  assert.equal(errnoName(17), "EEXIST");
  assert.equal(errnoName(4095), "errno 4095");
});
