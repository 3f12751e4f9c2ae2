"""The warehouse in headless Chromium, as a county officer and the city would use it: find another
county's model, copy it onto your own data with a column mapping, preview, activate, run, open an
alert from the hits; fill a built-in model in as a form; a special project created by the city and
seen by a county. And a crawl of every screening screen: no raw code in Chinese, no Chinese-only
label in English."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.test import Client
from django.utils import translation

from alerts.models import SourceIndicator, SourceSystem
from alerts.sources import source_system_create
from screening import services
from screening.models import RunStatus, ScreeningModel, SpecialProject

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

KUNSHAN_CSV = ("采购人,中标人,中标日期,金额\n教育局,甲公司,2024-01-01,100\n教育局,甲公司,2024-01-05,200\n"
               "教育局,甲公司,2024-01-09,300\n")
CHANGSHU_CSV = ("招标单位,供应商名称,成交日期,成交金额\n交通局,丙公司,2024-03-01,10\n交通局,丙公司,2024-03-02,20\n"
                "交通局,丙公司,2024-03-03,30\n水利局,丁公司,2024-03-01,40\n")
PARAMS = {"buyer_field": "采购人", "winner_field": "中标人", "date_field": "中标日期", "window_days": 30,
          "min_count": 3, "amount_field": "金额"}


def login(page, url: str, user, lang: str = "zh-hans") -> None:
    client = Client()
    client.force_login(user)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    page.context.clear_cookies()
    page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": url},
                              {"name": "django_language", "value": lang, "url": url}])


@pytest.fixture
def kunshan_model(make_dataset, people, org):
    ds = make_dataset(KUNSHAN_CSV, name="昆山中标")
    return services.screening_model_create(
        by=people.kunshan_supervisor, name="昆山标王", org_unit=org.kunshan, datasets={"awards": ds},
        template="repeat_winner", params=PARAMS, status="active", supervision_points="同一中标人反复中标")


def test_a_county_copies_another_countys_model_onto_its_own_data_and_opens_an_alert(
        browser_ready, page, people, org, kunshan_model, make_dataset):
    mine = make_dataset(CHANGSHU_CSV, name="常熟成交", unit=org.changshu)
    url = browser_ready.url
    login(page, url, people.changshu_supervisor)
    page.goto(f"{url}/screening/?q=标王")
    page.click(f"[data-testid=card-{kunshan_model.pk}]")
    assert "监督规则" in page.inner_text("main") and "成果运用" not in page.inner_text("main")
    page.click("[data-testid=copy-model]")
    page.select_option("[data-testid=dataset-1]", str(mine.pk))
    page.click("[data-testid=choose-datasets]")
    # Suggested by name and type where possible; the rest chosen by hand.
    page.select_option("[data-testid=map-采购人]", "招标单位")
    page.select_option("[data-testid=map-中标人]", "供应商名称")
    assert page.locator("[data-testid=map-中标日期] option").all_inner_texts()[1:] == ["成交日期"]  # dates only
    page.select_option("[data-testid=map-中标日期]", "成交日期")
    page.select_option("[data-testid=map-金额]", "成交金额")
    page.click("[data-testid=save-copy]")
    page.locator("[data-testid=model-status]").wait_for()
    copy = ScreeningModel.objects.get(origin=kunshan_model)
    assert copy.org_unit == org.changshu and copy.status == "draft"

    page.click("[data-testid=preview-model]")
    assert page.locator("[data-testid=preview-hits]").inner_text() == "1"
    assert "丙公司" in page.locator("[data-testid=preview-samples]").inner_text()
    page.click("[data-testid=activate-model]")
    page.click("[data-testid=run-model]")
    page.locator("[data-testid=hit-alert]").first.wait_for(timeout=20000)
    with translation.override("zh-hans"):
        assert page.locator("[data-testid=run-status]").inner_text() == str(RunStatus.SUCCEEDED.label)
    page.click("[data-testid=hit-alert]")
    assert re.search(r"/alerts/\d+/$", page.url) and "丙公司" in page.inner_text("main")


def test_a_built_in_model_is_filled_in_as_a_form(browser_ready, page, people, org, make_dataset):
    ds = make_dataset(CHANGSHU_CSV, name="常熟成交", unit=org.changshu)
    url = browser_ready.url
    login(page, url, people.changshu_supervisor)
    page.goto(f"{url}/screening/")
    page.click("[data-testid=form-repeat_winner]")
    page.select_option("[data-testid=ds-awards]", str(ds.pk))
    page.click("[data-testid=choose-datasets]")
    page.select_option("[data-testid=p-buyer_field]", "招标单位")
    page.select_option("[data-testid=p-winner_field]", "供应商名称")
    assert page.locator("[data-testid=p-date_field] option").all_inner_texts()[1:] == ["成交日期"]
    page.select_option("[data-testid=p-date_field]", "成交日期")
    page.fill("[data-testid=p-window_days]", "10")
    page.fill("[data-testid=p-min_count]", "3")
    assert "天" in page.inner_text("main") and "次" in page.inner_text("main")
    page.click("[data-testid=form-preview]")
    assert page.locator("[data-testid=preview-hits]").inner_text() == "1"
    page.fill("[data-testid=model-name]", "常熟标王")
    page.click("[data-testid=form-save]")
    page.locator("[data-testid=model-status]").wait_for()
    model = ScreeningModel.objects.get(name="常熟标王")
    assert model.template == "repeat_winner" and model.params["window_days"] == 10
    assert model.params["buyer_field"] == "招标单位" and model.org_unit == org.changshu


def test_a_special_project_created_by_the_city_is_seen_by_a_county(browser_ready, page, people, kunshan_model):
    url = browser_ready.url
    login(page, url, people.city_supervisor)
    page.goto(f"{url}/screening/projects/")
    page.fill("[data-testid=project-name]", "工程招投标专项")
    page.check("[data-testid=deploy-kunshan]")
    page.click("[data-testid=project-save]")
    page.locator("[data-testid=project-title]").wait_for()
    project = SpecialProject.objects.get()
    assert list(project.units.values_list("code", flat=True)) == ["kunshan"]
    login(page, url, people.kunshan_supervisor)
    page.goto(f"{url}/screening/projects/")
    assert "工程招投标专项" in page.locator("[data-testid=projects]").inner_text()
    page.click("text=工程招投标专项")
    assert "昆山" in page.locator("[data-testid=project-units]").inner_text()
    login(page, url, people.changshu_supervisor)
    page.goto(f"{url}/screening/projects/")
    assert "工程招投标专项" not in page.inner_text("main")


# ----- the crawl -----

ALLOWED_LATIN = {"CSV", "XLSX", "UTF", "BOM", "GB18030", "ID"}
ENGLISH_WORD = re.compile(r"[A-Za-z][A-Za-z_]{2,}")
CJK = re.compile(r"[\u4e00-\u9fff]")
LABELS = ("main h1, main h2, main h3, main th, main dt, main label, main legend, main button, main .muted, "
          "main span.badge")


def visible_text(page, selector: str = "main") -> list[str]:
    """Texts of the matching elements, without user data (`.userdata`), option lists or values."""
    return page.evaluate("""(sel) => Array.from(document.querySelectorAll(sel)).map(el => {
        if (el.closest('.userdata')) return '';
        const c = el.cloneNode(true);
        c.querySelectorAll('.userdata, option, select, textarea, script, svg title').forEach(x => x.remove());
        return c.innerText || c.textContent || '';
    })""", selector)


def screens(url: str, model: ScreeningModel, run_id: int, ds_id: int, project_id: int) -> list[str]:
    return [f"{url}/screening/", f"{url}/screening/models/{model.pk}/", f"{url}/screening/models/{model.pk}/copy/",
            f"{url}/screening/models/{model.pk}/copy/?ds-awards={ds_id}", f"{url}/screening/runs/{run_id}/",
            f"{url}/screening/datasets/", f"{url}/screening/datasets/{ds_id}/", f"{url}/screening/projects/",
            f"{url}/screening/projects/{project_id}/", f"{url}/screening/factory/form/repeat_winner/",
            f"{url}/screening/factory/form/repeat_winner/?ds-awards={ds_id}",
            f"{url}/screening/factory/", f"{url}/screening/factory/{model.pk}/",
            f"{url}/screening/indicators/", f"{url}/screening/indicators/?by=module",
            f"{url}/screening/indicators/?by=source",
            *[f"{url}/screening/indicators/{pk}/" for pk in SourceIndicator.objects.values_list("pk", flat=True)],
            *[f"{url}/screening/factory/?template={code}" for code in services.TEMPLATES],
            *[f"{url}/screening/factory/form/{code}/" for code in services.TEMPLATES]]


DATA = {
    "zh-hans": {"csv": "采购人,中标人,中标日期,金额\n教育局,甲公司,2024-01-01,100\n教育局,甲公司,2024-01-02,100\n"
                       "教育局,甲公司,2024-01-03,100\n",
                "cols": ["采购人", "中标人", "中标日期", "金额"], "name": "标王", "points": "同一中标人反复中标",
                "project": "招投标专项"},
    "en": {"csv": "buyer,winner,award_date,amount\nEdu,A Co,2024-01-01,100\nEdu,A Co,2024-01-02,100\n"
                  "Edu,A Co,2024-01-03,100\n",
           "cols": ["buyer", "winner", "award_date", "amount"], "name": "Repeat winner", "points": "Same winner",
           "project": "Tendering"},
}


@pytest.fixture
def crawl_data(people, org, make_dataset, run_model):
    """The same warehouse in both languages' data (names, columns), so each crawl sees its own."""

    def make(lang: str):
        d = DATA[lang]
        ds = make_dataset(d["csv"], name=d["name"])
        params = dict(zip(["buyer_field", "winner_field", "date_field", "amount_field"], d["cols"], strict=True))
        model = services.screening_model_create(
            by=people.kunshan_supervisor, name=d["name"], org_unit=org.kunshan, datasets={"awards": ds},
            template="repeat_winner", params={**params, "window_days": 30, "min_count": 3}, status="active",
            supervision_points=d["points"])
        _m, run = run_model("repeat_winner", {}, {}, model=model)
        project = services.special_project_save(by=people.city_supervisor, name=d["project"], lead_unit=org.city,
                                                models=[model], units=[org.kunshan])
        services.screening_model_tags_set(model_id=model.pk, by=people.kunshan_supervisor, tags=[d["name"]])
        source = SourceSystem.objects.filter(code="biz").first() or source_system_create(
            code="biz", name="Tax", org_unit=org.city)[0]
        SourceIndicator.objects.get_or_create(source=source, code=f"T-{lang}", defaults={"module": d["name"]})
        return model, run, ds, project

    return make


# Deliberately bilingual: the loop's English stage names carry the Chinese term, e.g. "Warning (预警)";
# the upload help gives the Chinese date format as an example.
BILINGUAL = re.compile(r"\([\u4e00-\u9fff]+\)|2024年3月5日")


def test_every_screening_screen_speaks_chinese_in_chinese_and_english_in_english(browser_ready, page, people,
                                                                                crawl_data):
    url = browser_ready.url
    problems = []
    model, run, ds, project = crawl_data("zh-hans")
    login(page, url, people.city_supervisor, "zh-hans")
    for address in screens(url, model, run.pk, ds.pk, project.pk):
        page.goto(address)
        page.wait_for_load_state("networkidle")
        for text in visible_text(page):
            words = [w for w in ENGLISH_WORD.findall(text) if w not in ALLOWED_LATIN]
            if words:
                problems.append(f"zh-hans {address}: {words[:5]} in {text[:80]!r}")
    model, run, ds, project = crawl_data("en")
    login(page, url, people.city_supervisor, "en")
    for address in screens(url, model, run.pk, ds.pk, project.pk):
        page.goto(address)
        page.wait_for_load_state("networkidle")
        for text in visible_text(page, LABELS):
            if CJK.search(BILINGUAL.sub("", text)):
                problems.append(f"en {address}: {text[:80]!r}")
    assert not problems, "\n".join(problems[:40])


def test_the_factory_keeps_supervision_points_and_labels_everything_in_chinese(browser_ready, page, people,
                                                                              kunshan_model):
    url = browser_ready.url
    login(page, url, people.kunshan_supervisor)
    page.goto(f"{url}/screening/factory/{kunshan_model.pk}/")
    page.locator("[data-testid=step-out]").wait_for()
    assert page.locator("textarea[name=supervision_points]").input_value() == "同一中标人反复中标"
    text = page.inner_text("[data-testid=canvas]")
    assert "窗口内次数" in page.inner_html("[data-testid=canvas]") and "_window_count" not in text
    assert "不少于" in page.inner_html("[data-testid=canvas]")  # the operator ">=" by its meaning
    assert page.locator("[data-testid=win-partition] input[type=checkbox]").count() >= 2  # checkboxes
    assert page.locator("select[multiple]").count() == 0
    page.click("[data-testid=save-model]")
    page.locator("[data-testid=saved-link]").wait_for()
    latest = ScreeningModel.objects.get(code=kunshan_model.code, is_latest=True)
    assert latest.supervision_points == "同一中标人反复中标"
