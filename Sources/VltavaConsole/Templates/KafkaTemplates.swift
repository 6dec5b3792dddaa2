extension ConsoleTemplates {
    static let kafkaTemplates: [String: String] = [
        "overview": """
            <h1>Cluster {{clusterId}}</h1>
            <div class="cards">
            <div class="card"><div class="muted">Brokers</div><div class="figure" id="broker-count">{{brokerCount}}</div></div>
            <div class="card"><div class="muted">Topics</div><div class="figure" id="topic-count">{{topicCount}}</div></div>
            <div class="card"><div class="muted">Partitions</div><div class="figure" id="partition-count">{{partitionCount}}</div></div>
            <div class="card"><div class="muted">Consumer groups</div><div class="figure" id="group-count">{{groupCount}}</div></div>
            <div class="card"><div class="muted">Records in</div><div class="figure" id="records-rate">{{recordsRate}}/s</div></div>
            <div class="card"><div class="muted">Version</div><div class="figure">{{version}}</div></div>
            </div>
            <h2>Records produced per second</h2>
            <div class="chart-box" data-refresh="/charts/overview.svg">{{{chart}}}</div>
            <h2>Brokers</h2>
            <table id="brokers"><thead><tr><th>Id</th><th>Host</th><th>Port</th><th>Rack</th><th>Role</th></tr></thead>
            <tbody>{{#brokers}}<tr><td>{{nodeId}}</td><td>{{host}}</td><td>{{port}}</td><td>{{rack}}</td><td>{{role}}</td></tr>{{/brokers}}</tbody></table>
            <h2>Services</h2>
            <table id="services"><tbody>
            <tr><th>Kafka bootstrap</th><td>{{bootstrap}}</td></tr>
            <tr><th>Schema registry</th><td>{{#registryURL}}{{registryURL}}{{/registryURL}}{{^registryURL}}<span class="muted">not configured</span>{{/registryURL}}</td></tr>
            <tr><th>Kafka Connect</th><td>{{#connectURL}}{{connectURL}}{{/connectURL}}{{^connectURL}}<span class="muted">not configured</span>{{/connectURL}}</td></tr>
            </tbody></table>
            """,
        "topics": """
            <h1>Topics</h1>
            <form method="get" action="/topics" class="inline">
            <input name="filter" value="{{filter}}" placeholder="Filter by name" aria-label="Filter topics by name">
            <label><input type="checkbox" name="internal" value="1"{{#internal}} checked{{/internal}}> internal topics</label>
            <button type="submit" class="plain">Filter</button>
            </form>
            <table id="topics"><thead><tr><th>Name</th><th class="num">Partitions</th><th class="num">Replicas</th><th class="num">Size</th>
            <th class="num">Records (end offsets)</th><th class="num">Records/s</th></tr></thead>
            <tbody>{{#topics}}<tr data-topic="{{name}}"><td><a href="/topics/{{link}}">{{name}}</a>{{#internal}} <span class="muted">internal</span>{{/internal}}</td>
            <td class="num partitions">{{partitions}}</td><td class="num">{{replicas}}</td><td class="num size">{{size}}</td>
            <td class="num end-offsets">{{endOffsets}}</td><td class="num rate">{{rate}}</td></tr>
            {{/topics}}{{^topics}}<tr><td colspan="6" class="muted">No topics.</td></tr>{{/topics}}</tbody></table>
            {{#canWrite}}
            <h2>Create a topic</h2>
            <form method="post" action="/topics" id="create-topic" class="stack">
            {{> csrf}}
            <label>Name <input name="name" required maxlength="249" pattern="[a-zA-Z0-9._\\-]+"></label>
            <label>Partitions <input name="partitions" type="number" min="1" max="100000" placeholder="broker default"></label>
            <label>Replication factor <input name="replication_factor" type="number" min="1" max="32767" placeholder="broker default"></label>
            <label>Configs, one <code>name=value</code> per line <textarea name="configs" placeholder="cleanup.policy=compact"></textarea></label>
            <div><button type="submit">Create topic</button></div>
            </form>
            {{/canWrite}}
            """,
        "topic": """
            <h1>Topic {{name}}</h1>
            <p><a href="/topics/{{link}}/messages">Messages</a> · <a href="/topics/{{link}}/produce">Produce a record</a> ·
            id <code>{{topicId}}</code>{{#internal}} · internal{{/internal}}</p>
            <div class="cards">
            <div class="card"><div class="muted">Partitions</div><div class="figure">{{partitionCount}}</div></div>
            <div class="card"><div class="muted">Records (end offsets)</div><div class="figure">{{endOffsets}}</div></div>
            <div class="card"><div class="muted">Size</div><div class="figure">{{size}}</div></div>
            <div class="card"><div class="muted">Records/s</div><div class="figure">{{rate}}</div></div>
            </div>
            <h2>Partitions</h2>
            <table id="partitions"><thead><tr><th>Partition</th><th>Leader</th><th>Replicas</th><th>In sync</th><th class="num">Start offset</th>
            <th class="num">End offset</th><th class="num">Size</th></tr></thead>
            <tbody>{{#partitions}}<tr data-partition="{{partition}}"><td><a href="/topics/{{link}}/messages?partition={{partition}}">{{partition}}</a></td>
            <td>{{leader}}</td><td>{{replicas}}</td><td>{{isr}}</td><td class="num start">{{start}}</td><td class="num end">{{end}}</td>
            <td class="num size">{{size}}</td></tr>{{/partitions}}</tbody></table>
            <h2>Configs</h2>
            <table id="configs"><thead><tr><th>Name</th><th>Value</th><th>Source</th></tr></thead>
            <tbody>{{#configs}}<tr data-config="{{name}}"{{#isDefault}} class="muted"{{/isDefault}}><td>{{name}}</td><td><code>{{value}}</code></td><td>{{source}}</td></tr>{{/configs}}</tbody></table>
            {{#canWrite}}
            <h2>Change</h2>
            <form method="post" action="/topics/{{link}}/configs" id="set-config" class="inline">
            {{> csrf}}
            <input name="name" placeholder="retention.ms" required aria-label="Config name">
            <input name="value" placeholder="new value (empty: back to the default)" aria-label="Config value">
            <button type="submit">Set config</button>
            </form>
            <form method="post" action="/topics/{{link}}/partitions" id="add-partitions" class="inline">
            {{> csrf}}
            <input name="count" type="number" min="{{partitionCount}}" value="{{partitionCount}}" aria-label="New partition count">
            <button type="submit">Set partition count</button>
            </form>
            <details><summary>Purge or delete</summary>
            <form method="post" action="/topics/{{link}}/purge" id="purge" class="inline">
            {{> csrf}}
            <input name="confirm" placeholder="type {{name}} to confirm" required aria-label="Type the topic name to purge it">
            <button type="submit" class="danger">Purge all records</button>
            </form>
            <form method="post" action="/topics/{{link}}/delete" id="delete-topic" class="inline">
            {{> csrf}}
            <input name="confirm" placeholder="type {{name}} to confirm" required aria-label="Type the topic name to delete it">
            <button type="submit" class="danger">Delete topic</button>
            </form>
            </details>
            {{/canWrite}}
            """,
        "messages": """
            <h1>Messages of <a href="/topics/{{link}}">{{topic}}</a></h1>
            <form method="get" action="/topics/{{link}}/messages" class="inline" id="seek">
            <select name="partition" aria-label="Partition"><option value="">all partitions</option>
            {{#partitionOptions}}<option value="{{value}}"{{#selected}} selected{{/selected}}>partition {{value}}</option>{{/partitionOptions}}</select>
            <select name="seek" aria-label="Start at">{{#seekOptions}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/seekOptions}}</select>
            <input name="offset" value="{{offset}}" placeholder="offset" size="8" aria-label="Offset">
            <input name="timestamp" value="{{timestamp}}" placeholder="2024-01-31T12:00:00Z" size="20" aria-label="Timestamp">
            <input name="limit" value="{{limit}}" size="4" aria-label="How many">
            <input name="filter" value="{{filter}}" placeholder="text in key, value or headers" aria-label="Filter">
            <button type="submit" class="plain">Show</button>
            </form>
            <p><button type="button" id="tail-start" class="plain" data-source="/topics/{{link}}/tail{{tailQuery}}">Live tail</button>
            <span id="tail-status" class="muted"></span> ·
            <a id="export" href="/topics/{{link}}/messages.json{{query}}">Export as JSON</a> ·
            <a href="/topics/{{link}}/produce">Produce a record</a></p>
            <p class="muted" id="summary">{{summary}}</p>
            <table id="messages"><thead><tr><th>Partition</th><th>Offset</th><th>Timestamp</th><th>Key</th><th>Value</th><th>Format</th><th>Headers</th></tr></thead>
            <tbody>{{#rows}}{{> message_row}}{{/rows}}</tbody></table>
            """,
        "message_row": """
            <tr class="message" data-partition="{{partition}}" data-offset="{{offset}}"><td>{{partition}}</td><td>{{offset}}</td>\
            <td class="timestamp">{{timestamp}}</td><td class="key">{{key}}</td><td class="value">{{value}}</td>\
            <td class="format">{{format}}</td><td class="headers">{{#headers}}<div>{{name}}: {{value}}</div>{{/headers}}</td></tr>
            """,
        "produce": """
            <h1>Produce to <a href="/topics/{{link}}">{{topic}}</a></h1>
            {{#canWrite}}
            <form method="post" action="/topics/{{link}}/produce" id="produce" class="stack">
            {{> csrf}}
            <label>Partition <select name="partition"><option value="">chosen by the key (or round robin)</option>
            {{#partitions}}<option value="{{.}}">{{.}}</option>{{/partitions}}</select></label>
            <label>Key <textarea name="key" rows="2"></textarea></label>
            <label><input type="checkbox" name="null_key" value="1"> null key</label>
            <label>Value <textarea name="value" rows="8"></textarea></label>
            <label><input type="checkbox" name="null_value" value="1"> null value (a tombstone)</label>
            <label>Value schema (the subject's latest version; the value is then JSON)
            <select name="value_subject"><option value="">none: send the text as it is</option>
            {{#subjects}}<option value="{{.}}">{{.}}</option>{{/subjects}}</select></label>
            <label>Headers, one <code>name=value</code> per line <textarea name="headers" rows="3"></textarea></label>
            <div><button type="submit">Produce</button></div>
            </form>
            {{/canWrite}}
            {{^canWrite}}<p class="muted">Your role is read-only.</p>{{/canWrite}}
            """,
    ]
}
