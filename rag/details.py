"""What a question asks for (an amount, a date, a period, a web address…) and what stating it looks like.

One table for the support decision (is the asked detail stated beside the question's words?) and for the
extractive answer (a figure question quotes the sentence holding the kind of figure asked for).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_SAME_PHRASE = 60  # characters: a phrase, in practice (the comma ends it)
_LIST_NEAR = 20  # characters between a set's name and the list of its members


@dataclass(frozen=True)
class Detail:
    name: str  # shown to the user: "相关条款没有写明金额"
    asked: re.Pattern[str]  # the question asks for it
    stated: re.Pattern[str]  # a sentence states it
    # What the asked detail belongs to, read beside the ask ("什么时候印发": 印发). A sentence states the
    # detail only next to one of these words: a target year ("到2025年") dates no 印发 and no 申报. (A
    # day and month are a date of their own: a signature's "2014年4月21日" says when it was issued.)
    event: re.Pattern[str] | None = None
    # How close to a topic word the stated shape must sit, in characters and with no comma between: a
    # detail belongs to the phrase it is in ("…食用农产品快检等手段…,每年婴幼儿配方乳粉…体系检查100%全覆盖"
    # states how often the 乳粉 plants are checked, not the 快检), and a list names a set's members beside
    # the set's name ("电子信息、…等五大战略性产业"), not forty characters on. None: anywhere in the
    # sentence, for details a sentence states for all its phrases (a target year or count opening it).
    near: int | None = _SAME_PHRASE
    # The detail follows what it is for ("对主导制修订…标准的企业，…给予30万元奖励"): a topic word named only in a
    # later phrase belongs to something else ("…奖励，到2025年，全市参与制修订…团体标准达到100项以上"), and one
    # named before a phrase opening with 对 too (read in support._amount_topics).
    topic_first: bool = False
    # The kind of name asked for ("哪几个镇": 镇), read inside the ask: a statement names one of that kind
    # ("海城镇、梅陇镇"), not any list beside the topic ("甘薯、丝苗米、生猪").
    kind: re.Pattern[str] | None = None
    # Whether the statement must sit beside a topic word even in a clause that holds none of them. A sanction
    # belongs to the act its clause is about, which a caller names in their own words ("小店第一次被查出问题…还会
    # 被罚款吗？": 初次违法…可以不予行政处罚); in a clause that names the caller's words, beside them still.
    placed: bool = True
    # Whether the detail is asked of the words before it in its phrase, and stated only beside one of them that a
    # clause names: whether a product has a standard of its own ("电热毯有没有强制的国家标准？") is not said by a clause
    # on standards in general, nor beside the other words of the question ("冬天想进一批…在网上卖").
    of_subject: bool = False


# What money is called: a share of it is an amount (补贴50%), and the word names no topic ("有没有奖励？奖多少？").
_MONEY = r"(补贴|补助|资助|奖励|奖金|资金|经费|费用?|罚款?|税|价|金额)"
# An ordinal is no count: "第二十条 市、区县人民政府应当…" opens every article of a statute and states no number (a
# Chinese numeral run starts neither after 第 nor inside a longer run). Also the answer's figures (rag.generate).
NOT_ORDINAL = r"(?<![第一二三四五六七八九十百千万两])"
# A word that says an amount is meant, by its name or its unit (every sentence stating an amount holds 万元 or
# %): such a word of the question cannot tell which amount it asks about.
AMOUNT_WORD = re.compile(rf"{_MONEY}|[万亿]?元|%|％")
# Named items listed ("电子信息、纺织服装、电力能源"), not counted categories ("5个主导产业、25条重点产业链").
_LISTED = r"(、(?!\d)[^、。；，,;]{1,16}){2,}"
_TIMED = re.compile(r"印发|发布|出台|公布|申报|报名|开始|启动|召开|举办|评选|发放|到账")
_EVENT_WINDOW = 6  # characters either side of the ask

DETAILS: tuple[Detail, ...] = tuple(Detail(*row) for row in (
    ("金额", re.compile(r"多少钱|(给|补|赔)不(给|补|赔)钱|给钱吗|(有没有|给不给)补偿|奖金|(奖励|补贴|资助|补|给|奖)多少|金额|额度|多少[^，。？！]{0,2}(钱|经费|资金|补贴|奖金|资助|补助|罚款)"
                      r"|(贷|资本|资金|罚|赔|减免|减缴)[^，。？！]{0,6}多少|(罚|奖|补|赔)[^，。？！]{0,4}(多高|多大|上限)"
                      r"|(什么|哪些)(奖励|补贴|资助)|(奖励|补贴|奖补|补助)(标准|是什么)|(?<![好十])几[十百千]?万(块|元)?(?![人家个])|上亿|真金白银"),
     # A share of the cost answers "补贴多少" too (补贴50%), a share of anything else ("检查100%全覆盖") does not.
     re.compile(r"\d\s*(万|亿)?元|[一二三四五六七八九十百千]+\s*(万|亿)?元|[\d一二三四五六七八九十]+\s*倍"
                rf"|{_MONEY}[^，。；,;]{{0,20}}(\d\s*(%|％)|百分之)|(\d\s*(%|％)|百分之)[^，。；,;]{{0,10}}{_MONEY}"),
     None, None, True),
    ("收费", re.compile(r"收费|收不收|要钱|免费|费用|交钱|(要|得|需要)花钱|花钱吗|(收|交|缴)[^，。？！]{0,4}费(?!补贴|补助)|谁来?(付|出钱)|付费|自费|报销(?!售)|(要|需要|得)(付|掏)钱(吗|么|呢)|(自己|企业|个人)(出|掏|承担|负担)钱?(吗|么|呢)|(报名|工本|参赛|评审)费"),
     re.compile(r"免费|收费|费用|无偿|有偿|不收取|报销|自费"), None),
    # From which day a period runs ("从哪天开始算") is a date too: "自…之日起计算".
    ("日期", re.compile(r"几月|几号|哪天|哪一天|日期"), re.compile(r"\d{1,2}\s*月|[一二三四五六七八九十]{1,2}月|之日起"), None),
    # When something happens (a year will do) and how long one has (a year named is no period).
    # A deadline ("投入使用后三十日内") says when as well as a year does.
    ("时间", re.compile(r"截止|什么时候|何时|哪[一几]?年"),
     re.compile(r"\d{4}\s*年|年底|年内|年前|截至|之前|[\d一二三四五六七八九十百两]+\s*(个)?(日|天|月|年|工作日)以?内|之日起"
                r"|[上下]半年|年初|年中|年末|第?[一二三四]季度|月底|月初"),
     _TIMED, None),  # "到2025年，…" dates every phrase after it
    # How long (多久之内, 多久能到账, 几年内) and how often (多久一次, 几年一次): "每年" answers only the second.
    ("期限", re.compile(r"期限|多久(?!.{0,4}一[次回])|多长时间(?![^，。？！]{0,4}一[次回])|周期|多少天|几天|到账|有效期|时限|期[^，。？！]{0,4}(几|多少)个?年"
                      r"|(几|多少)个?(年|月)(以)?内|(几|多少)个?工作日|(发|领|享受|补|拿|有效|管用)(几|多少)个?(年|月)(?!级)"),
     re.compile(r"(?<![\d年])\d{1,3}\s*(个)?(月|日|天|年|工作日|小时)|[一二三四五六七八九十两]+\s*(个)?(月|天|日|年|工作日|小时|星期|周)"
                r"|届满"), None),
    ("频次", re.compile(r"多久.{0,4}一[次回]|几年一[次回]|[一几每][年月季][^，。？！]{0,3}[一几][次回]|频次|频率|是不是每年|每年都要|定期吗|多长时间[^，。？！]{0,4}一[次回]|(几|多少)个?(年|月|天)[^，。？！]{0,4}一[次回]"
                      r"|[一每]个?(年|月|季度?|周)[^，。？！]{0,6}(几|多少)(次|回|期|批|轮)|每个?(年|月|季度?|周)都|一[年月季]一(批|次|期)还是"),
     re.compile(r"每[\d一二三四五六七八九十两]*\s*(个)?(年|季度|月|周|半年)|定期|[\d一二三四五六七八九十两]+\s*(个)?(年|月)一次"),
     None),
    ("网址", re.compile(r"网址|网站|网页|官网|链接|在哪(里)?查|哪个平台|哪里能查|入口|(在|从)?哪(里|儿)?(登录|登陆|下载)|网上怎么办|(线上|网上)的?(渠道|入口)|哪个系统|小程序|公众号|(?i:app)(?![a-z])"),
     re.compile(r"https?://|www\.|\.gov\.cn|\.com|网址"), None),
    # 号码 is a phone's when it says so ("咨询号码是多少"), not "用什么号码来对应" (an ID number).
    ("电话", re.compile(r"电话|热线|手机号|(咨询|联系|服务|举报|投诉|座机)号码|号码是多少|(打|拨)(哪个|什么)号码?|联系方式|(怎么|如何)(联系|联络)|微信号"), re.compile(r"\d{3,4}-?\d{7,8}|1\d{10}|12345|热线"), None),
    ("地址", re.compile(r"地址(?![^，。？！]{0,2}(怎么|如何|证明|变更|迁移|能不能|可不可以|可以))|(寄|送|交)到哪|(在|去)哪(里|儿)?(交|寄|送)|哪(个|条)(区|路|街|镇|街道)|具体位置|位置在哪|(窗口|大厅)在哪|怎么走|去哪(里|儿)?找|(在|(?<!举报|投诉|反映|维权|求助)去)哪(里|儿)[啊呀呢]?(?=[？?！!。]|$)|(在|去)哪个地方|哪(一)?(栋|座|幢|层)楼|在哪(里|儿)?办公"),
     re.compile(r"地址[:：]|[\u4e00-\u9fff]{2,}(路|街|大道)[\d一二三四五六七八九十]*号?"), None),
    # Asked for an address ("发到哪个邮箱", "邮箱是多少"), not a way of delivery ("能直接发到我邮箱吗").
    ("邮箱", re.compile(r"(什么|哪个|有没有)[^，。？！]{0,4}(邮箱|电子邮件)|(邮箱|电子邮件)(地址)?(是|多少|呢|在哪)|(?i:e-?mail)"
                      r"|^\s*(电子)?(邮箱|邮件)(地址)?[？?]?\s*$"), re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+"), None),
    # Where a body sits ("秘书处设在哪个城市", "办公室放在哪个单位"), not which department is responsible.
    ("所在单位", re.compile(r"(?<![建开])(设|放)在哪(?!些)|(秘书处|办公室)在哪|挂靠(在)?哪"), re.compile(r"设在|设于|挂靠|(秘书处|办公室)在"),
     None),
    ("地点", re.compile(r"在哪(里|儿)?(开|办|举办|举行)|在哪个[^，。？！]{0,3}(开|办|举办|举行)(?=[呢啊呀]?[？?！!。，,]|$)|(哪个|什么)(场馆|会场|场地|展馆)|什么地方|地点"), re.compile(r"在[\u4e00-\u9fff]{2,8}(举办|举行|召开)|地点"), None),
    # A share ("按什么比例配套", "能占到几成"): stated by a percentage or a ratio, not by a count ("25个重点产业链").
    ("比例", re.compile(r"比例|百分之|百分比|几成|占多少|权重|比重|配比"),
     re.compile(r"\d(\.\d+)?\s*(%|％)|百分之|(?<![一二三四五六七八九十])[一二三四五六七八九十]成(?![立员为果效本都长熟品绩])|\d+\s*[:：]\s*\d+|倍"
                r"|(不单?设|取消)[^，。；]{0,16}比例限制"),
     None, None),
    # A multiple ("按货值的几倍罚"): stated by one (三倍, 1倍以上), not by a count beside the words ("百项能效标准").
    # …or by a share of a hundred or more (百分之二百, 300%).
    ("倍数", re.compile(r"(几|多少)倍"),
     re.compile(r"[\d一二三四五六七八九十两]+\s*倍|百分之[一二三四五六七八九十]*百|(?<![\d.])[1-9]\d{2,}(\.\d+)?\s*(%|％)"), None),
    ("数量", re.compile(r"多少(家|个|项|名|人|位)|(?<!十)几(家|项|名|位|人)|(?<![这那十好])几个|几次|多少次|合格率|达到多少"),
     # A count or a rate (合格率), not any digit: "到2025年" states no number of 计量标准, "建设一批" no number at all.
     re.compile(r"\d(\.\d+)?\s*(%|％|家|个|项|名|批|次(?!全会)|人|台|件|所|座|条|种|类|倍|万|亿|部门|部委)|百分之"
                rf"|{NOT_ORDINAL}[一二三四五六七八九十百千两]+\s*(家|个|项|名|次(?!全会)|所|座|条|种|类|倍|部门|部委)|[二三四五六七八九十百千两]+\s*批"), None,
     None),  # "…活动…,2023年开始,每年服务企业600家以上": a count in a later phrase of the same activity; "三次全会" is a session
    # Whether a course ends with a certificate ("培训完了发不发结业证"): stated where one is issued.
    ("证书", re.compile(r"结业证|毕业证|(发|颁)不(发|颁)[^，。？！]{0,4}证|(发|颁)(什么|哪种)[^，。？！]{0,2}证"),
     re.compile(r"证书|结业证|颁发|发证|职业资格"), None),
    # A ceiling ("奖励有没有封顶", "最多算几项"): stated only by one (最高, 不超过), not by the amount for each project.
    ("上限", re.compile(r"封顶|上限|限额|有没有(个)?顶|最多(能|可以)?(算|报|申报)(几|多少)"), re.compile(r"最高|最多|不超过|不得超过|上限|封顶|限额|不单?设[^，。；]{0,6}限制|取消[^，。；]{0,16}限制|不受[^，。；]{0,8}限制"), None),
    # When an office is open ("周末开不开门", "节假日能不能办", "办公时间是几点到几点"): stated by its hours or days. Not
    # working hours told ("员工上班时间用公司设备搞出的发明").
    ("办理时间", re.compile(r"周末|节假日|双休|几点(开|上班|下班|关)|开不开门|开门时间|(上班|营业|办公|工作)时间(是|几点|怎么|从几点|到几点|多长)"),
     re.compile(r"工作日|周末|节假日|双休|\d{1,2}\s*[:：]\s*\d{2}|\d{1,2}\s*(点|时)(?!代)|全天|24小时|全年无休|延时|错时"), None),
    # "…许可怎么办？" asks how to get it; "公司不让看怎么办？" asks what to do, which the clauses answer.
    ("申请程序", re.compile(r"(什么|哪些|申请|申报)材料|(什么|哪些)[^，。？！]{0,4}(资料|台账)|材料清单|流程|手续(?!费)|(哪些|什么)程序|怎么(申请|申报|报|办理|评|预约)|填(什么|哪些)[^，。？！]{0,3}表|(证|照|许可|手续|备案|登记|卡)(要|该|应该)?怎么办|如何(申请|申报|办理|评定)|去哪(里|儿)?(申请|报|考|办|备案|领)|自动发|自己(去)?报"
                          r"|在哪(里|儿)?报名|(怎么|怎样|如何)(参加|参与|加入|提交|报名)|(要|需要|得)(带|准备)(什么|哪些)|带哪些|通过(什么|哪个|哪些)渠道|哪个渠道|怎么(投诉|举报|领取?|报检|反映)|第一步|怎么个[^，。？！]法"),
     re.compile(r"程序|流程|(申请|申报|相关|所需|证明)材料|提交|报送|办理|申请表|受理"), None),
    # What a term means ("这个“双创”是啥意思？", "首负指个啥", "反溯该怎么理解"): stated only by a definition beside it
    # (是指, 即, 所谓, a bracket explaining it), not by the clause that merely names the term.
    ("含义", re.compile(r"什么是|什么意思|(?<!分别)指(的是|个)?什么|指(的是)?哪一?(类|种)|怎么理解|如何理解|什么叫|何为|何谓|含义|定义"
                      r"|是个什么|怎么解释"),
     re.compile(r"是指|指的是|(?<![立随])即(?![将时使])|也就是|所谓|（[^）]{4,}）|\([^)]{4,}\)"), None),
    ("资格条件", re.compile(r"资格|证书|条件|门槛|要求是什么|够不够格|才(能)?算|持证|考(个|什么)?证|上岗证"
                          r"|谁(能|可以)申请|哪些(人|企业|单位)(能|可以)|什么样的(企业|单位|公司|人|个人|项目|产品)"
                          r"|才(能|可以)(申请|申报|报|参评)|符不符合|(年龄|户籍|学历)(限制|要求)|有没有限制"), re.compile(r"资格|条件|具备|取得.{0,8}(证|资质)"), None),
    # How a figure is worked out ("研发投入强度是怎么算的？"): a formula or a basis of calculation.
    # …and how it is scored ("按什么口径算", "怎么打分"): the basis or the scoring rules.
    ("计算方法", re.compile(r"怎么(算|计算)(?!.{0,2}(违法|侵权|犯罪))|如何(计算|算)|计算(方法|公式|标准)|算法|(什么|哪个)口径|口径是"
                          r"|(怎么|如何)(打分|评分)|(打分|评分)(标准|办法|细则|规则)|及格线|分数线|合格线|多少分(才)?算"),
     re.compile(r"计算|公式|除以|乘以|之比|比值|按[^，。；]{1,30}(计|算|标准|支付)|每满|口径|评分|分值|得分|[\d一二三四五六七八九十]+\s*倍以[上下]"), None, None),  # a basis spans phrases
    # Whether two benefits add up ("省里资助过了，市里的还能叠加拿吗？"): stated by a rule on stacking.
    ("能否叠加", re.compile(r"叠加|重复(享受|拿|领|申报|奖励|资助|补贴)|同时享受|兼得|(两|几)笔[^，。？！]{0,6}(都|一起)(能|可以)?拿"
                          r"|(还能|能否|可以|还可以)再(去)?(享受|拿|领|申请|申报)|两头(都)?(能)?(占|拿|享受)"),
     re.compile(r"叠加|重复(享受|奖励|资助|补贴|支持)|同时享受|兼得|就高|不再(重复)?给予"), None),
    # How two things differ ("红点之星和红点至尊奖有啥不一样？"): stated by a comparison, not by naming both.
    ("区别", re.compile(r"(有|是)什么(不一样|不同|区别|差别|差异)|区别(是什么|在哪|在于)|哪里不一样|不同之处"),
     re.compile(r"区别|区分|不同于|有别于|差异|相比|与[^，。；]{1,16}不同"), None),
    # A form to fill in ("承诺书有没有统一模板？"): stated only where one is named.
    ("统一模板", re.compile(r"模板|范本|样表|示范文本|格式文本"), re.compile(r"模板|范本|样表|示范文本|格式文本"), None),
    # How a sum is shared out ("三家一起起草的，20万元奖励怎么分？").
    ("分配方式", re.compile(r"怎么分(?![类级别析工])|如何分配|怎么分配|分配(比例|方式|办法)"),
     re.compile(r"分配|按[^，。；]{0,12}比例|平均|分成"), None),
    # Which items a named set holds ("25个重点产业链具体是哪些？"): stated only by a list of them.
    ("具体名单", re.compile(r"具体(是|有)?哪些|都有哪些|分别(是|指)(的是)?(哪些|什么)|名单(有|是|上有)|哪些.{0,8}名单|(是|指)哪[两三四五六七八九十\d]+(个|项|类|条|家|种)"
                          r"|(具体|详细)清单|有没有(名单|清单)|(划|定|圈)(了|个|出)?(个)?范围|范围(是|有)(什么|哪些)|什么范围|在不在(里头|里面|名单|目录|范围)|算不算(在)?(里头|里面|其中|之列|范围)|包不包括|(具体|都)包括(哪些|什么)|(说|指)的是(哪些|哪几)|指(哪些|哪几)"),
     re.compile(_LISTED), None, _LIST_NEAR),
    # Which place or body by name ("哪个县评上了", "哪家机构来评", "覆盖哪几个镇"): stated by a name of one (在海丰县…,
    # 由…研究院…) or a list, beside the topic. Which department is responsible is the department answer's to give.
    ("具体名称", re.compile(r"哪(个|几个|一个|些)?(省|市(?!场)|县|区(?!别)|镇|乡|村|城市|街道)"
                          r"|哪(个|家|一个|一家|所)(机构|单位|司局|司|处室|科室|学校|院校|高校|医院|协会|企业|公司|厂)"),
     re.compile(_LISTED +
                r"|(在|于|由|落户|位于|设在|委托)[\u4e00-\u9fff]{2,8}?(?<![强全本各城都超])(省|市(?!场)|县|区|镇|乡|村|研究院"
                r"|研究所|大学|学院|协会|学会|公司|集团|中心|司(?!法))"), None, _SAME_PHRASE, False,
     re.compile(r"省|市(?!场)|县|区|镇|乡|村|街道")),
    # What something is called ("后来出台的规划叫啥名"): a title, a quoted name or a list of them beside the topic.
    # …and which standard ("要符合哪个国家标准", "照着哪份标准来审"): its title or number.
    ("名称", re.compile(r"叫(个)?什么(名字|名堂)?|什么名(字|称|堂)|名称是|哪(份|个|项|部|一)(国家|行业|地方|团体)?(标准|规范)(?!化)"),
     re.compile(r"《[^》]{2,}》|“[^”]{2,}”|GB(/T)?\s*\d+|" + _LISTED), None, _SAME_PHRASE),
    # A document's number ("文号是多少"): 国办发〔2014〕18号, not a year or a count.
    ("文号", re.compile(r"文号|发文字号|文件编号"), re.compile(r"[〔\[]\d{4}[〕\]]\s*\d+\s*号"), None, None),
    # Whether rules of detail were issued ("有没有个章程", "出没出实施细则"): stated only where one is named.
    ("配套细则", re.compile(r"(有没有|有无|是否|出没出|出了)[^，。？！]{0,8}(章程|细则|实施办法|管理办法|操作办法)"),
     re.compile(r"章程|细则|《[^》]*办法》"), None),
    # What befalls one who does not comply ("没设首席质量官会不会被罚？", "错过了会怎么样", "会受到什么处罚", "会不会被通报问责",
    # "要退回补贴吗"): stated by a sanction beside the topic.
    ("处罚后果", re.compile(r"((会不会|是否)被?|会被)(罚|处罚|补罚|通报|问责|曝光|追责|追究|约谈|列入[^，。？！]{0,8}名单|拉黑)|(怎么|如何)处罚|什么后果|后果是什么|会怎么?样(了|呢|啊)?(?=[？?！!。，,]|$)|(承担|负)(什么|哪些)[^，。？！]{0,2}责任"
                        r"|会不会(被)?吊销|坐牢|处罚标准|(受到|给予|有)(什么|哪些)(处罚|处分|罚则)|罚则|会有(什么|哪些)影响|(会|要)被?(怎么|如何)(罚|处理|处置)"
                        r"|(要|会)被?(退回|收回|追回|撤销)"
                        # "会不会因为这个被罚款", "会不会回过头来补罚", "会不会被扣分": the sanction a few words after the ask
                        r"|(会不会|是否会)[^，。？！]{1,8}?被?(罚|处罚|补罚|扣分|通报|问责|追责|约谈|吊销|拉黑)"),
     # …or by sparing one ("依法免除相关责任", "不予行政处罚", "不作负面评价").
     re.compile(r"处罚|罚款|罚没|查处|打击|追究|吊销|惩戒|曝光|约谈|问责|通报|责令|移送|违法|违规|失信|黑名单|取消"
                r"|免除[^，。；]{0,6}责任|免予|不予|不作负面评价"), None,
     None, False, None, False),
    # Whether one must give one's name, or may stay anonymous ("举报要不要实名？", "要留真实姓名吗", "他会不会知道是我").
    ("实名或匿名", re.compile(r"实名|匿名|保密|泄露|真实姓名|真名|具名|身份证|知道是我"),
     re.compile(r"实名|匿名|保密|身份|(保护|不得泄露)[^，。；]{0,40}(秘密|隐私)"), None),  # "依法保护…知悉的…商业秘密"
    # How a matter is handled ("能不能代办", "可以找代理人吗", "要本人到场吗", "线上还是线下", "要不要预约").
    ("办理方式", re.compile(r"(需要|要)本人|本人到场|代办|(可以|能)委托|代理人|代(为|我|我们)?(提交|办理|申请|办)|(能|可以)(不能)?网上办|网上(能|可以)办|线上还是线下|现场办|书面还是口头|签字|(需要|要|得)预约|要不要预约|(网上|线上)(报|交|办|提交|申请)?还是|还是(交|送|寄)?纸质"),
     re.compile(r"本人|代办|委托|网上|线上|现场|书面|签字|预约|一网通办|不见面|掌上"), None),
    # Whether one may apply ("能不能自己申请进这个名单", "可不可以申请撤下来"): stated by who may, or by a clause letting
    # someone apply ("当事人可以申请再审", "鼓励民营企业申报中国质量奖"), not by the measure applied for.
    ("申请资格", re.compile(r"(能不能|可不可以|能否|可否)(自己|主动|直接)?(去)?(申请|申报)"),
     re.compile(r"资格|条件|具备|(可以|可|有权|准予|允许|支持|鼓励|引导)[^，。；]{0,12}(申请|申报)"), None),
    # Whether a thing has a standard of its own ("头盔有没有强制性国家标准？", "服务这一行有没有统一的质量标准？").
    ("适用标准", re.compile(r"(有没有|有无|是否有)(专门|强制|强制性|统一|相关|具体)?的?(国家|行业|检测|质量|产品|安全)?标准(?![化体])"),
     re.compile(r"标准|规范|GB(/T)?\s*\d+"), None, _SAME_PHRASE, False, None, True, True),  # of its subject
    # Whether or what a label, package or advert may or must show ("能不能印到包装上", "标签上要不要写明"): stated only
    # where a clause speaks of marking goods, not by the measure the mark would advertise.
    ("标注要求", re.compile(r"(包装|标签|广告|瓶身|吊牌|说明书)上[^，。？！“”\"]{0,6}?(印|贴|标|写|打|喷)|(印|贴|标注|标明|喷)(到|在|上)[^，。？！“”\"]{0,8}?(包装|标签|广告|吊牌|说明书)"),
     re.compile(r"包装|标签|标识|标注|标明|标示|字样|容器|吊牌|说明书"), None),
    ("人员", re.compile(r"(负责人|主任|召集人|[^，。？！]长)是谁|谁是(组长|负责人|召集人)|(由|是)(哪位|哪几位|哪个|什么)[^，。？！]{0,3}领导|(什么|哪个|哪一?级)(职位|职务|级别)的人|由谁(来)?(担任|当)|谁来(当|担任)"),
     re.compile(r"(组长|负责人|主任|局长|召集人)(由|为|是)|由[^，。；]{1,12}(担任|兼任)|(聘请|选聘|邀请|推选)[^，。；]{2,30}(担任|作为)"), None),
))
# Details a rule states for the acts it lists after "下列…：" ("有下列行为之一的，…处一万元以上十万元以下罚款：（一）…"): a fine
# or a sanction is for those acts. Conditions listed so ("符合下列条件") are the detail itself, not what it is for.
FOR_LISTED_ACTS = ("金额", "处罚后果")
# Details stated in words a question also names as its topic (标准, 包装, 资格): such a word of a question still places
# the other details it asks ("参与制定国家标准，市里奖励多少？": the amount beside 国家标准).
TOPIC_WORDS_STATED = ("申请资格", "标注要求", "适用标准")
# After 十 a 几 says a rough number (二十几条, 十几个), it asks none.
# Any other "多少…"/"几…" asks for a number ("多少分钟能赶到", "过几年", "最高支持多少"), of any unit: asked only
# when no detail of the table is.
ANY_NUMBER = Detail("具体数字", re.compile(r"多少|(?<![哪这那好十])几(?![乎十百千万])"),
                    re.compile(rf"\d|{NOT_ORDINAL}[一二三四五六七八九十百千万两]+\s*(个|项|家|名|年|月|日|天|分钟|小时|倍|件|元|万|亿|次|人|岁|周|批|所|条|种|级|层|档|类|轮)"
                               r"|百分之"), None, None)
# An amount for each unit ("每转化一件专利能分到多少", "每亩补多少"): a total for the measure (350万元) is no answer. Asked with
# an amount only, and read over the whole question: the unit is often said before the clause that asks.
_UNIT = r"(个(?!月|季度|星期)|项|台|亩|件|家|位|所|座|套|户|只|名|条|批)"  # 每个月 is a rate in time
PER_UNIT = Detail("每个单位的金额", re.compile(rf"每[^，。？！]{{0,4}}?一?{_UNIT}"),
                  re.compile(rf"每[^，。；,;]{{0,6}}?{_UNIT}[^。；;]{{0,30}}?(\d|[一二三四五六七八九十百千两]+)[\d.]*\s*(万|亿)?元"),
                  None, None)
# How things stand now ("眼下实际做到了多少", "目前有没有哪个工程拿过大禹奖", "现在有几家"): plans and targets ("到2025年…
# 力争达到94.8%") do not say it; a sentence does that tells what exists already ("在…2个…试点基础上", "目前", "已建成").
# Asked in a phrase that also asks, anywhere in the question (the clause asking last may only add "离目标还差几个点"),
# unless the phrase asks what policy there is now ("现在有哪些扶持政策"): the documents are that.
STATUS = Detail("目前进展",
                re.compile(r"(目前|眼下|现在|如今|当前|至今|迄今)[^，。？！]{0,12}(实际|已经|已|做到|达到|建成|建起|拿到|评上|认定|入驻|挂牌"
                           r"|运转|落地|有几|有多少|一共|有哪几|有没有哪)"
                           r"|(有没有|是否|是不是)[^，。？！]{0,16}(拿|评|得|获|建|办|报|申报|入选|参加|获评)(上|到)?过(?![程期度来去渡])"
                           r"|(是不是|是否|有没有)已经|进展如何|进度(怎么样|如何)|到哪一步"
                           # "平台建好了吗", "投入使用了没有": whether a measure is done yet (the writer's list: 实施了吗, 生效了吗…)
                           r"|(开始|实施|落实|生效|出来|通过|批下来|建好|建成|建完|办好|办完|上线|投入使用|启用|开通)了(吗|没有?)"
                           r"|已经[^，。？！]{1,10}了(吗|没有?)"),
                re.compile(r"目前|现有|现已|已经?(建成|建有|形成|获得|拥有|认定|入驻|挂牌|达到|开展)|截至|(试点|已有|现有)的?基础上"),
                None, None)
PHRASE = re.compile(r"[^，,；;。？?！!]+")  # a phrase of a question: commas, semicolons and sentence ends close it
_ASKING_IN_PHRASE = re.compile(r"吗|呢|么|没有|多少|几|哪|什么|啥|如何|是否|是不是|(.)不\1")
_POLICY_NOUN = re.compile(r"政策|规定|文件|措施|办法|意见|方案|支持|扶持|要求|说法|标准")
_NAMING = ("具体名单", "地址", "所在单位", "地点")  # details whose statement names the place or body asked for
_BY_NAME = {detail.name: detail for detail in (*DETAILS, ANY_NUMBER, PER_UNIT, STATUS)}


# A threshold, fee, period or procedure to be eased ("把门槛和花费降下来", "能不能缩短办理时限") is the topic of the
# question, not a value it asks for: the documents answer in the same words (降低技术门槛). Not when the phrase asks
# how much ("减免多少").
_EASING = re.compile(r"降|减|放宽|放低|压缩|缩短|简化|精简|省去|少花")
_EASED = ("收费", "期限", "申请程序", "资格条件")


def asked_details(text: str, question: str = "") -> tuple[str, ...]:
    """The kinds of detail an ask (`question.asking_part`: its spoken words written, 啥 as 什么) asks for ("金额",
    "网址", …), in DETAILS order. A question may ask several. `question`, the whole question the ask is part of,
    may say the unit an amount is asked for (PER_UNIT)."""
    named = tuple(d.name for d in DETAILS if any(not _eased(d.name, ask, text) for ask in d.asked.finditer(text)))
    if "具体名称" in named and any(other in named for other in _NAMING):  # "设在哪个城市": where it sits names it
        named = tuple(name for name in named if name != "具体名称")
    if "金额" in named and PER_UNIT.asked.search(question or text):
        named += (PER_UNIT.name,)
    named = named or ((ANY_NUMBER.name,) if ANY_NUMBER.asked.search(text) else ())
    if any(name in _COUNTS for name in named):
        counted = _several(text)
        named = tuple(name for name in named if name not in _COUNTS or _BY_NAME[name].asked.search(counted))
    return named + ((STATUS.name,) if asks_status(question or text) else ())


# "几家医院能不能互认", "可以砍几棵树修路吗", "我们几个志愿者": 几 before a thing counted says "a few" in a yes/no ask
# (能不能, 可以…吗) or after 们; it asks no count. Not a period (几天内能办完吗) nor money (能拿几万吗).
_COUNTS = ("数量", ANY_NUMBER.name)
_MODAL_ASK = re.compile(r"能不能(?!说|告诉|讲|透露|问)|可不可以|行不行|让不让|准不准|(可以|能|允许)[^，。？！?!]*吗")
_A_FEW = re.compile(r"几(?=[家个套棵次项名位人台件种条批趟所座])")


def _several(text: str) -> str:
    """`text` with each 几 that says "a few" written 些, so that it asks no count (same length: positions hold)."""
    text = re.sub(r"(?<=们)几", "些", text)
    return PHRASE.sub(lambda p: _A_FEW.sub("些", p.group()) if _MODAL_ASK.search(p.group()) else p.group(), text)


def _eased(name: str, ask: re.Match[str], text: str) -> bool:
    """Whether the `ask` of detail `name` names something to be eased, in a phrase that asks no number (_EASING)."""
    if name not in _EASED:
        return False
    phrase = next((p for p in PHRASE.finditer(text) if p.start() <= ask.start() < p.end()), None)
    return bool(phrase and _EASING.search(phrase.group()) and not ANY_NUMBER.asked.search(phrase.group()))


def asks_status(question: str) -> bool:
    """Whether a phrase of `question` asks how things stand now (STATUS), not what policy there is."""
    return any(STATUS.asked.search(phrase) and _ASKING_IN_PHRASE.search(phrase) and not _POLICY_NOUN.search(phrase)
               for phrase in PHRASE.findall(question))


# A figure whose meaning is asked ("这个46指的是啥？", "“25条”是什么意思"): the documents explain it where they count
# something by it ("46个县域特色产业集群"), not with a definition. Not a figure inside another ("3+2").
_FIGURE_MEANING = re.compile(r"(?<![\d+＋.])(\d+)\s*(?:个|条|项|家)?\s*[”\"]?\s*(?:到底|究竟)?(?:是|指)")


# "什么样的茶叶才算得上是惠明茶？": what counts as the thing named, which a definition says ("所称的惠明茶，是指…").
_COUNTS_AS = re.compile(r"才(能)?算(得上)?|算得上")
_CONDITIONS_OR_DEFINITION = re.compile(rf"{_BY_NAME['资格条件'].stated.pattern}|是指|所称")


def condition_shape(ask: str) -> re.Pattern[str] | None:
    """What states the conditions asked in `ask` when it asks what counts as a thing: the conditions or the thing's
    definition. None for any other ask of conditions ("申请要什么条件？" is not answered by a definition)."""
    return _CONDITIONS_OR_DEFINITION if _COUNTS_AS.search(ask) else None


def meaning_shape(ask: str) -> re.Pattern[str] | None:
    """What states the meaning asked in `ask` when it asks what a figure stands for: the figure counting a thing
    ("46个县域特色产业集群"); None when it asks the meaning of a word."""
    figure = _FIGURE_MEANING.search(ask)
    if not figure or not _BY_NAME["含义"].asked.search(ask):
        return None
    return re.compile(rf"(?<![\d.]){figure.group(1)}\s*[个条项家种类大批所座名]\s*[\u4e00-\u9fff]{{2,}}")


def detail_named(name: str) -> Detail:
    """The detail `name` of the table ("金额", "具体名单", …)."""
    return _BY_NAME[name]


def stated_shape(name: str) -> re.Pattern[str]:
    """What a sentence stating the detail `name` looks like."""
    return _BY_NAME[name].stated


def asked_subject(name: str, text: str) -> str:
    """What the detail `name` is asked of, for a detail asked of its subject (`Detail.of_subject`): the words before the
    ask in its phrase, "电热毯" of "电热毯有没有强制的国家标准？"; "" when the phrase names none before it."""
    detail = _BY_NAME[name]
    if not detail.of_subject:
        return ""
    return " ".join(phrase[:ask.start()] for phrase in PHRASE.findall(text) if (ask := detail.asked.search(phrase)))


# Events said in other words: "每年什么时候公布" is answered by "于每年上半年向社会发布".
_SAME_EVENT = (("印发", "发布", "出台", "公布"), ("申报", "报名"), ("开始", "启动"), ("召开", "举办"))


def asked_events(name: str, text: str) -> tuple[str, ...]:
    """What the detail `name` asked in `text` belongs to: "申报" in "每年什么时候开始申报？", with the words that say the
    same event (`_SAME_EVENT`); () when it belongs to nothing said."""
    detail = _BY_NAME[name]
    if detail.event is None:
        return ()
    found: list[str] = []
    for ask in detail.asked.finditer(text):
        window = text[max(0, ask.start() - _EVENT_WINDOW) : ask.end() + _EVENT_WINDOW]
        found += [event.group() for event in detail.event.finditer(window)]
    found += [other for event in found for same in _SAME_EVENT if event in same for other in same]
    return tuple(dict.fromkeys(found))


# A figure asked for a target year ("…到2025年的一堆目标，那到2035年的时候，合格率要提到多少"): the target the question
# reaches last. A plan dates its figures by the target year opening their paragraph ("到2025年，…。制造业产品质量合格率
# 力争达到94.8%"): such a figure is no answer for another year.
_TARGET_YEAR = re.compile(r"(?:到|至)\s*((?:19|20)\d\d)\s*年")
_FIGURES = ("金额", "比例", "数量", "具体数字", "每个单位的金额", "上限")


def target_years(text: str) -> tuple[str, ...]:
    """The years `text` sets a target for: "2035" of "到2035年的时候…要提到多少" (not the 2014 of "2014年那份计划")."""
    return tuple(dict.fromkeys(_TARGET_YEAR.findall(text)))


def asked_year(name: str, question: str) -> str:
    """The target year a figure `name` is asked for: the last one `question` names ("" when none, or for a detail that
    is no figure)."""
    return dating_year(question, "") if name in _FIGURES else ""


def dating_year(sentence: str, year: str) -> str:
    """The target year that dates `sentence` within its clause: the last one it names, else `year`, the one of the
    sentences before it."""
    named = _TARGET_YEAR.findall(sentence)
    return named[-1] if named else year


def asked_kinds(name: str, text: str) -> tuple[str, ...]:
    """The kinds of name the detail `name` asked in the ask `text` is of: "镇" in "覆盖哪几个镇？"; () when any will do."""
    detail = _BY_NAME[name]
    if detail.kind is None:
        return ()
    return tuple(dict.fromkeys(kind.group() for ask in detail.asked.finditer(text)
                               for kind in detail.kind.finditer(ask.group())))


def asks(text: str) -> list[re.Match[str]]:
    """Where `text` asks for a detail ("什么奖励", "多少经费", "什么时候"): those words say what is asked, not
    about what."""
    return [ask for detail in DETAILS for ask in detail.asked.finditer(text)]


def ask_phrases(text: str) -> tuple[str, ...]:
    """The words of `text` that ask for a detail."""
    return tuple(ask.group() for ask in asks(text))
