// Validates Kubernetes core objects (JSON array on stdin) against the
// official schemas packaged in kubernetes-models, and for fields the types do
// not declare. Prints one line per object; exits 1 if any object is invalid,
// has an unknown field, or is of a kind it has no schema for.
const path = require("path");
const tools = process.env.WANGGE_TOOLS || "/opt/wangge";
const modelsDir = path.join(tools, "node_modules", "kubernetes-models");

const fs = require("fs");

// Unknown fields, as kubectl's --validate=strict reports them (a misspelt
// key is otherwise ignored by the API server's defaulting and by the JSON
// schemas, which allow extra properties): the field names each type
// declares, read from the package's TypeScript declarations.
const declarations = new Map();  // .d.ts path -> {props, imports}
function declared(file) {
  if (declarations.has(file)) return declarations.get(file);
  const result = { props: new Map(), imports: new Map() };
  declarations.set(file, result);
  let text;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    return result;  // a type alias module (Quantity, IntOrString): a leaf
  }
  for (const m of text.matchAll(/^import \{ (\w+) \} from "([^"]+)";$/gm)) {
    let target = m[2];
    if (target.startsWith(".")) {
      target = path.resolve(path.dirname(file), target);
    } else {
      target = path.join(tools, "node_modules", target);
    }
    result.imports.set(m[1], target.replace(/\.js$/, "") + ".d.ts");
  }
  const body = text.match(/^export interface \w+[^{]*\{\n([\s\S]*?)^\}/m);
  if (!body) return result;
  for (const m of body[1].matchAll(/^    "([^"]+)"\??: (.*)$/gm)) {
    result.props.set(m[1], m[2]);
  }
  return result;
}
function unknownFields(value, file, where, out) {
  if (value === null || typeof value !== "object" || Array.isArray(value))
    return;
  const { props, imports } = declared(file);
  if (props.size === 0) return;
  for (const [key, child] of Object.entries(value)) {
    if (!props.has(key)) {
      out.push(`${where}.${key}`);
      continue;
    }
    const type = props.get(key);
    if (type.startsWith("{")) continue;  // a map: any keys
    const ref = [...imports.keys()].find((name) => type.includes(name));
    if (!ref) continue;
    const items = Array.isArray(child) ? child : [child];
    items.forEach((item, i) =>
      unknownFields(item, imports.get(ref),
                    Array.isArray(child) ? `${where}.${key}[${i}]` : `${where}.${key}`,
                    out));
  }
}

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
      const unknown = [];
      unknownFields(obj, modulePath + ".d.ts", obj.kind, unknown);
      if (unknown.length > 0) {
        console.log(`UNKNOWN FIELDS ${where}: ${unknown.join(", ")}`);
        failed++;
        continue;
      }
      console.log(`ok ${where}`);
    } catch (e) {
      console.log(`INVALID ${where}: ${e.message}`);
      failed++;
    }
  }
  process.exit(failed ? 1 : 0);
});
