extension ConsoleTemplates {
    static let groupTemplates: [String: String] = [
        "groups": """
            <h1>Consumer groups</h1>
            <table id="groups"><thead><tr><th>Group</th><th>State</th><th>Protocol</th><th class="num">Members</th><th class="num">Lag</th></tr></thead>
            <tbody>{{#groups}}<tr data-group="{{id}}"><td><a href="/groups/{{link}}">{{id}}</a></td><td class="state state-{{state}}">{{state}}</td>
            <td>{{type}}</td><td class="num members">{{members}}</td><td class="num lag">{{lag}}</td></tr>
            {{/groups}}{{^groups}}<tr><td colspan="5" class="muted">No groups.</td></tr>{{/groups}}</tbody></table>
            """,
        "group": """
            <h1>Group {{id}}</h1>
            <div class="cards">
            <div class="card"><div class="muted">State</div><div class="figure state-{{state}}" id="group-state">{{state}}</div></div>
            <div class="card"><div class="muted">Members</div><div class="figure">{{memberCount}}</div></div>
            <div class="card"><div class="muted">Total lag</div><div class="figure" id="total-lag">{{totalLag}}</div></div>
            <div class="card"><div class="muted">Protocol</div><div class="figure">{{protocol}}</div></div>
            </div>
            <h2>Lag over time</h2>
            <div class="chart-box" data-refresh="/groups/{{link}}/lag.svg">{{{chart}}}</div>
            <h2>Partitions</h2>
            <table id="lag"><thead><tr><th>Topic</th><th>Partition</th><th class="num">Committed offset</th><th class="num">End offset</th>
            <th class="num">Lag</th><th>Member</th><th>Host</th><th>Client</th></tr></thead>
            <tbody>{{#rows}}<tr data-topic="{{topic}}" data-partition="{{partition}}"><td><a href="/topics/{{topicLink}}">{{topic}}</a></td><td>{{partition}}</td>
            <td class="num committed">{{committed}}</td><td class="num end">{{end}}</td><td class="num lag">{{lag}}</td>
            <td>{{member}}</td><td>{{host}}</td><td>{{client}}</td></tr>{{/rows}}
            {{^rows}}<tr><td colspan="8" class="muted">No committed offsets or assignments.</td></tr>{{/rows}}</tbody></table>
            <h2>Members</h2>
            <table id="members"><thead><tr><th>Member</th><th>Instance</th><th>Client</th><th>Host</th><th>Assignment</th></tr></thead>
            <tbody>{{#members}}<tr><td>{{memberId}}</td><td>{{instanceId}}</td><td>{{clientId}}</td><td>{{host}}</td><td>{{assignment}}</td></tr>{{/members}}
            {{^members}}<tr><td colspan="5" class="muted">No members.</td></tr>{{/members}}</tbody></table>
            {{#canWrite}}
            <h2>Reset offsets</h2>
            <p class="muted">Only for a group without members (state Empty): a running group's consumers own their offsets.</p>
            <form method="post" action="/groups/{{link}}/reset" id="reset-offsets" class="inline">
            {{> csrf}}
            <select name="topic" aria-label="Topic">{{#topics}}<option value="{{.}}">{{.}}</option>{{/topics}}</select>
            <select name="target" aria-label="Reset to">
            <option value="earliest">to the earliest offset</option><option value="latest">to the latest offset</option>
            <option value="offset">to the offset</option><option value="timestamp">to the time (ISO 8601 or ms)</option>
            <option value="shift">shifted by</option></select>
            <input name="value" placeholder="offset, time or shift" aria-label="Offset, time or shift">
            <button type="submit" class="danger">Reset offsets</button>
            </form>
            <form method="post" action="/groups/{{link}}/delete" id="delete-group" class="inline">
            {{> csrf}}
            <input name="confirm" placeholder="type {{id}} to confirm" required aria-label="Type the group id to delete it">
            <button type="submit" class="danger">Delete group</button>
            </form>
            {{/canWrite}}
            """,
    ]
}
