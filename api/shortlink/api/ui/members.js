// The workspace's members (admins and owners): who has which role; add someone
// by their sign-in e-mail address, change a role, remove a member. The server
// decides (an admin can't touch owners; the last owner stays): its refusals read
// as they come, in the error box.

import { api } from "./api.js";
import { field, h } from "./dom.js";
import { formatDate, plural } from "./format.js";
import { leftWorkspace } from "./session.js";
import { announce, confirmDialog, errorBox, page, showError, state } from "./shell.js";
import { grantableRoles, mayManage } from "./workspaces.js";

const roleSelect = (roles, value, attrs = {}) => h("select", { name: "role", ...attrs },
  roles.map((role) => h("option", { value: role, selected: role === value }, role)));

const memberPath = (member) => `/v1/workspace/members/${encodeURIComponent(member)}`;

export async function membersView() {
  const { role: myRole, workspace } = state.session;
  const grantable = grantableRoles(myRole);
  const problem = errorBox();
  const list = h("div");

  async function changeRole(member, select) {
    problem.hidden = true;
    try {
      await api("PUT", memberPath(member), { body: { role: select.value } });
      announce(`${member} is now ${select.value}`);
      await load();
    } catch (error) { showError(problem, error); }
  }

  async function remove(member) {
    problem.hidden = true;
    const yourself = member === state.session.subject;
    if (!await confirmDialog(`Remove ${member}?`, yourself
        ? `That is you: you lose access to ${workspace} at once.`
        : `They lose access to ${workspace} at once: their next request is refused.`,
        "Remove member")) return;
    try {
      await api("DELETE", memberPath(member));
      announce(yourself ? `You left ${workspace}` : `Removed ${member}`);
      if (yourself) leftWorkspace();
      else await load();
    } catch (error) { showError(problem, error); }
  }

  function actions(member) {
    if (!mayManage(myRole, member.role)) return h("span", { class: "muted" }, "—");
    const select = roleSelect(grantable, member.role, { "aria-label": `Role of ${member.member}` });
    return [select, " ",
      h("button", { type: "button", class: "small", "aria-label": `Change role of ${member.member}`,
                    onclick: () => changeRole(member.member, select) }, "Change role"), " ",
      h("button", { type: "button", class: "small danger", "aria-label": `Remove ${member.member}`,
                    onclick: () => remove(member.member) }, "Remove")];
  }

  async function load() {
    const { items } = await api("GET", "/v1/workspace/members");
    list.replaceChildren(items.length === 0
      ? h("p", { class: "empty" }, "No members yet: people signed in with single sign-on " +
                                   "appear here once added.")
      : h("div", { class: "table-wrap", tabindex: 0, role: "region", "aria-label": "Members" },
        h("table", { class: "members" }, h("caption", {}, plural(items.length, "member")),
          h("thead", {}, h("tr", {}, ["Member", "Role", "Added", "Actions"].map((t) =>
            h("th", { scope: "col" }, t)))),
          h("tbody", {}, items.map((member) => h("tr", { dataset: { member: member.member, role: member.role } },
            h("td", {}, member.member), h("td", {}, member.role),
            h("td", {}, formatDate(member.added_at)), h("td", { class: "actions" }, actions(member))))))));
  }

  const email = h("input", { type: "email", name: "member", required: true, maxlength: 320,
                             autocomplete: "off", spellcheck: "false" });
  const newRole = roleSelect(grantable, "viewer");
  const form = h("form", { class: "card", oninput: () => { problem.hidden = true; },
                           onsubmit: async (event) => {
    event.preventDefault();
    problem.hidden = true;
    const member = email.value.trim().toLowerCase();
    try {
      const added = await api("PUT", memberPath(member), { body: { role: newRole.value } });
      form.reset();
      announce(`${added.member} is ${added.role} of ${workspace}`);
      await load();
    } catch (error) { showError(problem, error); }
  } },
  h("h2", {}, "Add a member"),
  field("E-mail address", email, "The address they sign in with (single sign-on). " +
                                 "Someone already a member gets this role instead."),
  field("Role", newRole),
  h("button", { type: "submit", class: "primary" }, "Add member"));

  page(`Members of ${workspace}`, problem, form, list);
  await load();
}
