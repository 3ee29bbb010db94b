/**
 * Certificates for TLS tests, made with openssl: a CA, and a server certificate it signed for
 * 127.0.0.1.
 *
 * @module
 */

export interface TestCertificates {
  caCert: string;
  serverCert: string;
  serverKey: string;
  /** A second, unrelated CA: trusting only it must fail. */
  otherCaCert: string;
}

async function openssl(dir: string, ...args: string[]): Promise<void> {
  const result = await new Deno.Command("openssl", { args, cwd: dir, stderr: "piped" }).output();
  if (!result.success) {
    throw new Error(`openssl ${args[0]} failed: ${new TextDecoder().decode(result.stderr)}`);
  }
}

async function makeCa(dir: string, name: string): Promise<void> {
  await openssl(
    dir,
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-days",
    "2",
    "-subj",
    `/CN=${name}`,
    "-keyout",
    `${name}.key`,
    "-out",
    `${name}.crt`,
  );
}

export async function makeCertificates(): Promise<TestCertificates> {
  const dir = await Deno.makeTempDir({ prefix: "keepnet-kube-tls-" });
  try {
    await makeCa(dir, "ca");
    await makeCa(dir, "other-ca");
    await openssl(
      dir,
      "req",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-subj",
      "/CN=kube-apiserver",
      "-keyout",
      "server.key",
      "-out",
      "server.csr",
    );
    await Deno.writeTextFile(`${dir}/san.ext`, "subjectAltName=IP:127.0.0.1\n");
    await openssl(
      dir,
      "x509",
      "-req",
      "-in",
      "server.csr",
      "-CA",
      "ca.crt",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-days",
      "2",
      "-extfile",
      "san.ext",
      "-out",
      "server.crt",
    );
    const read = (name: string) => Deno.readTextFile(`${dir}/${name}`);
    return {
      caCert: await read("ca.crt"),
      serverCert: await read("server.crt"),
      serverKey: await read("server.key"),
      otherCaCert: await read("other-ca.crt"),
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
