extension ConsoleTemplates {
    static let serviceTemplates: [String: String] = [
        "subjects": """
            <h1>Schema registry</h1>
            <p>Global compatibility: <strong id="global-compatibility">{{compatibility}}</strong> · mode: <strong>{{mode}}</strong> ·
            {{schemaCount}} schema(s) under {{subjectCount}} subject(s)</p>
            <table id="subjects"><thead><tr><th>Subject</th><th>Type</th><th class="num">Versions</th><th class="num">Latest</th><th class="num">Id</th></tr></thead>
            <tbody>{{#subjects}}<tr data-subject="{{name}}"><td><a href="/schemas/{{link}}">{{name}}</a></td><td>{{type}}</td>
            <td class="num">{{versions}}</td><td class="num">{{latest}}</td><td class="num">{{id}}</td></tr>
            {{/subjects}}{{^subjects}}<tr><td colspan="5" class="muted">No subjects.</td></tr>{{/subjects}}</tbody></table>
            {{#canWrite}}
            <h2>Change the global compatibility</h2>
            <form method="post" action="/schemas/config" id="global-config" class="inline">
            {{> csrf}}
            <select name="level" aria-label="Compatibility">{{#levels}}<option{{#selected}} selected{{/selected}}>{{name}}</option>{{/levels}}</select>
            <button type="submit">Set</button>
            </form>
            <h2>Register a schema under a new subject</h2>
            <form method="post" action="/schemas" id="register-new" class="stack">
            {{> csrf}}
            <label>Subject <input name="subject" required placeholder="orders-value"></label>
            <label>Type <select name="schema_type"><option>AVRO</option><option>PROTOBUF</option><option>JSON</option></select></label>
            <label>Schema <textarea name="schema" rows="8" required></textarea></label>
            <div><button type="submit">Register</button></div>
            </form>
            {{/canWrite}}
            """,
        "subject": """
            <h1>Subject {{name}}</h1>
            <p>Compatibility: <strong id="compatibility">{{compatibility}}</strong>{{#compatibilityInherited}} (global){{/compatibilityInherited}} ·
            mode: <strong id="mode">{{mode}}</strong></p>
            <form method="get" action="/schemas/{{link}}" class="inline">
            <select name="version" aria-label="Version">{{#versions}}<option value="{{version}}"{{#selected}} selected{{/selected}}>version {{version}} (id {{id}})</option>{{/versions}}</select>
            <button type="submit" class="plain">Show</button>
            </form>
            {{#hasDiff}}<form method="get" action="/schemas/{{link}}/diff" class="inline" id="diff-form">
            <select name="from" aria-label="From version">{{#versions}}<option value="{{version}}"{{#isPrevious}} selected{{/isPrevious}}>{{version}}</option>{{/versions}}</select>
            <select name="to" aria-label="To version">{{#versions}}<option value="{{version}}"{{#selected}} selected{{/selected}}>{{version}}</option>{{/versions}}</select>
            <button type="submit" class="plain">Compare</button></form>{{/hasDiff}}
            <h2>Version {{version}} · id {{id}} · {{type}}</h2>
            {{#references}}<p class="muted">References: {{references}}</p>{{/references}}
            <pre id="schema">{{schema}}</pre>
            {{#canWrite}}
            <h2>Settings</h2>
            <form method="post" action="/schemas/{{link}}/config" id="compatibility-form" class="inline">
            {{> csrf}}
            <select name="level" aria-label="Compatibility">{{#levels}}<option{{#selected}} selected{{/selected}}>{{name}}</option>{{/levels}}</select>
            <button type="submit">Set compatibility</button>
            </form>
            <form method="post" action="/schemas/{{link}}/mode" id="mode-form" class="inline">
            {{> csrf}}
            <select name="mode" aria-label="Mode">{{#modes}}<option{{#selected}} selected{{/selected}}>{{name}}</option>{{/modes}}</select>
            <button type="submit">Set mode</button>
            </form>
            <h2>Register a new version</h2>
            <form method="post" action="/schemas/{{link}}/versions" id="register" class="stack">
            {{> csrf}}
            <label>Type <select name="schema_type">{{#types}}<option{{#selected}} selected{{/selected}}>{{name}}</option>{{/types}}</select></label>
            <label>Schema <textarea name="schema" rows="12" required>{{schema}}</textarea></label>
            <div><button type="submit">Register</button></div>
            </form>
            {{/canWrite}}
            """,
        "diff": """
            <h1>Subject <a href="/schemas/{{link}}">{{name}}</a>: version {{from}} → {{to}}</h1>
            <p class="muted">{{added}} line(s) added, {{removed}} removed.</p>
            <pre id="diff" class="diff">{{#lines}}<span class="{{kind}}">{{text}}</span>
            {{/lines}}</pre>
            """,
        "connectors": """
            <h1>Connectors</h1>
            <table id="connectors"><thead><tr><th>Name</th><th>Type</th><th>State</th><th class="num">Tasks</th><th>Worker</th></tr></thead>
            <tbody>{{#connectors}}<tr data-connector="{{name}}"><td><a href="/connectors/{{link}}">{{name}}</a></td><td>{{type}}</td>
            <td class="state state-{{state}}">{{state}}</td><td class="num">{{tasks}}</td><td>{{worker}}</td></tr>
            {{/connectors}}{{^connectors}}<tr><td colspan="5" class="muted">No connectors.</td></tr>{{/connectors}}</tbody></table>
            {{#canWrite}}
            <h2>Create a connector</h2>
            <form method="post" action="/connectors" id="create-connector" class="stack">
            {{> csrf}}
            <label>Configuration as JSON: <code>{"name": ..., "config": {...}}</code>, or a flat config with <code>name</code>
            <textarea name="config" rows="10" required placeholder='{"name": "datagen", "config": {"connector.class": "..."}}'></textarea></label>
            <div><button type="submit">Create</button></div>
            </form>
            {{/canWrite}}
            """,
        "connector": """
            <h1>Connector {{name}}</h1>
            <p>State <strong class="state-{{state}}" id="connector-state">{{state}}</strong> on {{worker}} · {{type}}</p>
            {{#trace}}<pre class="error">{{trace}}</pre>{{/trace}}
            {{#canWrite}}<p>
            <form method="post" action="/connectors/{{link}}/pause" class="inline">{{> csrf}}<button type="submit" class="plain">Pause</button></form>
            <form method="post" action="/connectors/{{link}}/resume" class="inline">{{> csrf}}<button type="submit" class="plain">Resume</button></form>
            <form method="post" action="/connectors/{{link}}/restart" class="inline">{{> csrf}}<button type="submit" class="plain">Restart with tasks</button></form>
            <form method="post" action="/connectors/{{link}}/delete" class="inline" id="delete-connector">{{> csrf}}
            <input name="confirm" placeholder="type {{name}} to confirm" required aria-label="Type the connector name to delete it">
            <button type="submit" class="danger">Delete</button></form></p>{{/canWrite}}
            <h2>Tasks</h2>
            <table id="tasks"><thead><tr><th>Task</th><th>State</th><th>Worker</th><th>Trace</th></tr></thead>
            <tbody>{{#tasks}}<tr><td>{{id}}</td><td class="state state-{{state}}">{{state}}</td><td>{{worker}}</td><td>{{#trace}}<pre>{{trace}}</pre>{{/trace}}</td></tr>{{/tasks}}
            {{^tasks}}<tr><td colspan="4" class="muted">No tasks.</td></tr>{{/tasks}}</tbody></table>
            <h2>Configuration</h2>
            <table id="connector-config"><tbody>{{#config}}<tr><th>{{name}}</th><td><code>{{value}}</code></td></tr>{{/config}}</tbody></table>
            <h2>Topics</h2>
            <p>{{#topics}}<a href="/topics/{{link}}">{{name}}</a> {{/topics}}{{^topics}}<span class="muted">none recorded</span>{{/topics}}</p>
            """,
        "security": """
            <h1>Security</h1>
            <h2>ACLs</h2>
            <table id="acls"><thead><tr><th>Principal</th><th>Host</th><th>Operation</th><th>Permission</th><th>Resource</th><th>Name</th><th>Pattern</th><th></th></tr></thead>
            <tbody>{{#acls}}<tr><td>{{principal}}</td><td>{{host}}</td><td>{{operation}}</td><td>{{permission}}</td><td>{{resourceType}}</td><td>{{resourceName}}</td><td>{{patternType}}</td>
            <td>{{#canWrite}}<form method="post" action="/security/acls/delete" class="inline">{{> csrf}}
            <input type="hidden" name="principal" value="{{principal}}"><input type="hidden" name="host" value="{{host}}">
            <input type="hidden" name="operation" value="{{operation}}"><input type="hidden" name="permission" value="{{permission}}">
            <input type="hidden" name="resource_type" value="{{resourceType}}"><input type="hidden" name="resource_name" value="{{resourceName}}">
            <input type="hidden" name="pattern_type" value="{{patternType}}"><button type="submit" class="danger">Delete</button></form>{{/canWrite}}</td></tr>
            {{/acls}}{{^acls}}<tr><td colspan="8" class="muted">{{aclNote}}</td></tr>{{/acls}}</tbody></table>
            {{#canWrite}}
            <form method="post" action="/security/acls" id="create-acl" class="inline">
            {{> csrf}}
            <input name="principal" placeholder="User:alice" required aria-label="Principal">
            <input name="host" value="*" size="8" aria-label="Host">
            <select name="operation" aria-label="Operation">{{#operations}}<option>{{.}}</option>{{/operations}}</select>
            <select name="permission" aria-label="Permission"><option>ALLOW</option><option>DENY</option></select>
            <select name="resource_type" aria-label="Resource type">{{#resourceTypes}}<option>{{.}}</option>{{/resourceTypes}}</select>
            <input name="resource_name" placeholder="orders" required aria-label="Resource name">
            <select name="pattern_type" aria-label="Pattern type"><option>LITERAL</option><option>PREFIXED</option></select>
            <button type="submit">Add ACL</button>
            </form>
            {{/canWrite}}
            <h2>SCRAM users</h2>
            <table id="users"><thead><tr><th>User</th><th>Mechanisms</th><th></th></tr></thead>
            <tbody>{{#users}}<tr data-user="{{name}}"><td>{{name}}</td><td>{{mechanisms}}</td>
            <td>{{#canWrite}}{{#credentials}}<form method="post" action="/security/users/delete" class="inline">{{> csrf}}
            <input type="hidden" name="user" value="{{name}}"><input type="hidden" name="mechanism" value="{{mechanism}}">
            <button type="submit" class="danger">Delete {{mechanism}}</button></form>{{/credentials}}{{/canWrite}}</td></tr>
            {{/users}}{{^users}}<tr><td colspan="3" class="muted">{{userNote}}</td></tr>{{/users}}</tbody></table>
            {{#canWrite}}
            <form method="post" action="/security/users" id="upsert-user" class="inline">
            {{> csrf}}
            <input name="user" placeholder="alice" required aria-label="User">
            <input name="password" type="password" placeholder="password" required aria-label="Password">
            <select name="mechanism" aria-label="Mechanism"><option>SCRAM-SHA-256</option><option>SCRAM-SHA-512</option></select>
            <input name="iterations" type="number" value="8192" min="4096" max="16384" aria-label="Iterations">
            <button type="submit">Set password</button>
            </form>
            {{/canWrite}}
            """,
    ]
}
