// Validates Kubernetes core objects (JSON array on stdin) against the
// official schemas packaged in kubernetes-models. Prints one line per
// object; exits 1 if any object is invalid or of a kind it has no schema for.
const path = require("path");
const tools = process.env.WANGGE_TOOLS || "/opt/wangge";
const modelsDir = path.join(tools, "node_modules", "kubernetes-models");

let input = "";
process.stdin.on("data", (d) => (input += d));
process.stdin.on("end", () => {
  const objects = JSON.parse(input);
  let failed = 0;
  for (const obj of objects) {
    const [group, version] = obj.apiVersion.includes("/")
      ? obj.apiVersion.split("/")
      : ["", obj.apiVersion];
    const modulePath = path.join(modelsDir, group || "", version, obj.kind);
    const where = `${obj.kind}/${obj.metadata && obj.metadata.name}`;
    let Model;
    try {
      Model = require(modulePath)[obj.kind];
    } catch (e) {
      console.log(`NO SCHEMA ${where} (${obj.apiVersion})`);
      failed++;
      continue;
    }
    try {
      new Model(obj).validate();
      console.log(`ok ${where}`);
    } catch (e) {
      console.log(`INVALID ${where}: ${e.message}`);
      failed++;
    }
  }
  process.exit(failed ? 1 : 0);
});
