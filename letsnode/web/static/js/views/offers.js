// The directory of offers and wants: search (full text), post, edit, withdraw, and pay or
// contact the member behind a listing.

import { api, query } from "../api.js";
import { app, errorText } from "../app.js";
import { clear, field, h, select } from "../dom.js";
import { formatDay, t } from "../i18n.js";

const CATEGORIES = ["food", "home", "care", "learning", "transport", "crafts", "tech", "health", "other"];
const KINDS = ["offer", "want"];

function kindOptions(withAll) {
  const options = KINDS.map((k) => [k, t(`offers.kind_${k}`)]);
  return withAll ? [["", t("offers.any_kind")], ...options] : options;
}

function categoryOptions(withAll) {
  const options = CATEGORIES.map((c) => [c, t(`category.${c}`)]);
  return withAll ? [["", t("offers.any_category")], ...options] : options;
}

export function render(params, ctx) {
  const results = h("div", { "aria-live": "polite" });
  const mine = h("div");
  const q = h("input", { type: "search", name: "q", value: params.get("q") || "" });
  const kind = select(kindOptions(true), "", { name: "kind" });
  const category = select(categoryOptions(true), "", { name: "category" });
  const search = async () => {
    try {
      const filters = { q: q.value.trim(), kind: kind.value, category: category.value };
      const { listings } = await api("GET", `/api/listings${query(filters)}`);
      clear(results).append(list(listings.filter((x) => x.handle !== app.me.handle), false));
    } catch (error) {
      clear(results).append(h("p", { class: "error", role: "alert", text: errorText(error) }));
    }
  };
  const loadMine = async () => {
    const { listings } = await api("GET", `/api/listings${query({ handle: app.me.handle })}`);
    clear(mine).append(list(listings, true));
  };
  const editor = editorForm(async () => {
    await loadMine();
    await search();
  });
  const searchForm = h(
    "form",
    { role: "search", class: "filters" },
    field(t("offers.search"), q),
    field(t("offers.kind"), kind),
    field(t("offers.category"), category),
    h("button", { type: "submit", class: "primary", text: t("offers.search_button") }),
  );
  searchForm.addEventListener("submit", (event) => {
    event.preventDefault();
    search();
  });

  function list(listings, own) {
    if (!listings.length) return h("p", { class: "muted", text: t(own ? "offers.none_mine" : "offers.none") });
    return h("ul", { class: "listings" }, listings.map((x) => card(x, own)));
  }

  function card(x, own) {
    const actions = own
      ? [
          h("button", { type: "button", text: t("offers.edit"), "aria-label": t("offers.edit_named", { title: x.title }), on: { click: () => editor.edit(x) } }),
          h("button", {
            type: "button",
            text: t("offers.withdraw"),
            "aria-label": t("offers.withdraw_named", { title: x.title }),
            on: {
              click: async () => {
                await api("DELETE", `/api/listings/${x.id}`);
                ctx.toast(t("offers.withdrawn"));
                await loadMine();
              },
            },
          }),
        ]
      : [
          h("a", {
            class: "button primary",
            href: `#/pay${query({ to: x.handle, memo: x.title.slice(0, 200) })}`,
            text: t("offers.pay", { handle: x.handle }),
          }),
        ];
    return h(
      "li",
      { class: "card listing" },
      h("h3", { text: x.title }),
      h("p", { class: "tags" }, h("span", { class: `tag ${x.kind}`, text: t(`offers.kind_${x.kind}`) }), " ",
        h("span", { class: "tag", text: t(`category.${x.category}`) })),
      x.description ? h("p", { text: x.description }) : null,
      h("p", { class: "muted", text: t("offers.by", { handle: x.handle, date: formatDay(x.updated) }) }),
      x.contact && !own ? h("p", { text: t("offers.contact_is", { contact: x.contact }) }) : null,
      h("div", { class: "actions" }, actions),
    );
  }

  search();
  loadMine();
  return h(
    "section",
    {},
    h("h1", { text: t("offers.title") }),
    h("div", { class: "card" }, searchForm),
    results,
    h("div", { class: "card" }, h("h2", { text: t("offers.post_title") }), editor.form),
    h("h2", { text: t("offers.mine") }),
    mine,
  );
}

function editorForm(changed) {
  let editing = null;
  const kind = select(kindOptions(false), "offer", { name: "kind" });
  const category = select(categoryOptions(false), "other", { name: "category" });
  const title = h("input", { name: "title", maxlength: "80", required: true });
  const description = h("textarea", { name: "description", maxlength: "1000", rows: "3" });
  const contact = h("input", { name: "contact", maxlength: "100" });
  const message = h("p", { class: "error", role: "alert" });
  const submit = h("button", { type: "submit", class: "primary", text: t("offers.post") });
  const form = h(
    "form",
    { novalidate: true },
    field(t("offers.kind"), kind),
    field(t("offers.category"), category),
    field(t("offers.listing_title"), title),
    field(t("offers.description"), description),
    field(t("offers.contact"), contact, t("offers.contact_hint")),
    message,
    submit,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    message.textContent = "";
    if (!title.value.trim()) {
      message.textContent = t("error.title_required");
      title.focus();
      return;
    }
    const body = {
      kind: kind.value,
      category: category.value,
      title: title.value.trim(),
      description: description.value.trim(),
      contact: contact.value.trim(),
    };
    try {
      if (editing) await api("PUT", `/api/listings/${editing}`, body);
      else await api("POST", "/api/listings", body);
      editing = null;
      form.reset();
      submit.textContent = t("offers.post");
      await changed();
    } catch (error) {
      message.textContent = errorText(error);
    }
  });
  return {
    form,
    edit(x) {
      editing = x.id;
      kind.value = x.kind;
      category.value = x.category;
      title.value = x.title;
      description.value = x.description;
      contact.value = x.contact;
      submit.textContent = t("offers.save");
      title.focus();
    },
  };
}
